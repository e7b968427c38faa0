package io.jdiffusion.pipelines.image;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * A small PNG encoder (8-bit L, LA, RGB, RGBA) that embeds text chunks, e.g. A1111's
 * {@code parameters} line and our {@code jdiffusion} JSON record.
 *
 * <p>Output is a pure function of the pixels and the text: no time chunk, no other ancillary
 * chunks, a fixed filter heuristic and fixed zlib settings, so the same input gives the same bytes
 * (on the same JDK build — the deflate stream comes from the JDK's zlib). Chunk order:
 * IHDR, the text chunks in the map's iteration order, IDAT…, IEND.
 *
 * <p>Each text value is written like PIL's {@code PngInfo.add_text}: as {@code tEXt} when it is
 * representable in Latin-1, otherwise as an uncompressed UTF-8 {@code iTXt} (empty language tag
 * and translated keyword). Keywords follow the PNG rules: 1–79 Latin-1 characters, printable, no
 * leading, trailing or doubled spaces. Text may not contain NUL.
 */
public final class PngWriter {
    private PngWriter() {}

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    private static final int IDAT_CHUNK = 1 << 20;

    /** Keyword of our JSON generation record. */
    public static final String JDIFFUSION_KEYWORD = "jdiffusion";

    /**
     * Writes a generated image with its A1111 {@code parameters} line and our {@code jdiffusion}
     * JSON record (either may be null to leave it out), atomically.
     */
    public static void writeGeneration(Path path, Image image, String parameters, String json) {
        Map<String, String> text = new java.util.LinkedHashMap<>();
        if (parameters != null) text.put(A1111Parameters.KEYWORD, parameters);
        if (json != null) text.put(JDIFFUSION_KEYWORD, json);
        write(path, image, text);
    }

    /** The PNG file bytes. */
    public static byte[] encode(Image image, Map<String, String> text) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(image.data().length / 2 + 1024);
        out.writeBytes(SIGNATURE);

        ByteBuffer ihdr = ByteBuffer.allocate(13);
        ihdr.putInt(image.width()).putInt(image.height());
        ihdr.put((byte) 8);
        ihdr.put((byte) switch (image.channels()) {
            case 1 -> 0;  // greyscale
            case 2 -> 4;  // greyscale + alpha
            case 3 -> 2;  // truecolour
            default -> 6; // truecolour + alpha
        });
        ihdr.put((byte) 0).put((byte) 0).put((byte) 0); // deflate, adaptive filtering, no interlace
        chunk(out, "IHDR", ihdr.array());

        if (text != null) {
            for (Map.Entry<String, String> e : text.entrySet()) {
                textChunk(out, e.getKey(), e.getValue());
            }
        }

        byte[] z = compress(filter(image));
        for (int off = 0; off < z.length; off += IDAT_CHUNK) { // a zlib stream is never empty
            chunk(out, "IDAT", java.util.Arrays.copyOfRange(z, off, Math.min(z.length, off + IDAT_CHUNK)));
        }
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    /**
     * Writes {@link #encode} to {@code path} atomically: the bytes go to a temporary file in the same
     * folder, are forced to disk, and the file is then renamed over {@code path}. On any failure the
     * temporary file is removed and {@code path} is left as it was.
     */
    public static void write(Path path, Image image, Map<String, String> text) {
        writeAtomically(path, encode(image, text));
    }

    /** The atomic write of {@link #write}, for any bytes; a target that is not a regular file is refused (see {@link OutputFile}). */
    public static void writeAtomically(Path path, byte[] bytes) {
        OutputFile.write(path, bytes, false);
    }

    /** {@link #writeAtomically}, writing through a link, device or FIFO target when {@code force} is set. */
    public static void writeAtomically(Path path, byte[] bytes, boolean force) {
        OutputFile.write(path, bytes, force);
    }

    static void textChunk(ByteArrayOutputStream out, String keyword, String text) {
        byte[] key = checkKeyword(keyword);
        if (text == null) throw new IllegalArgumentException("text of PNG chunk '" + keyword + "' is null");
        if (text.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("text of PNG chunk '" + keyword + "' contains a NUL character, which PNG forbids");
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(key.length + text.length() + 8);
        body.writeBytes(key);
        body.write(0);
        if (isLatin1(text)) {
            body.writeBytes(text.getBytes(StandardCharsets.ISO_8859_1));
            chunk(out, "tEXt", body.toByteArray());
        } else {
            body.write(0); // compression flag: uncompressed
            body.write(0); // compression method
            body.write(0); // empty language tag
            body.write(0); // empty translated keyword
            body.writeBytes(text.getBytes(StandardCharsets.UTF_8));
            chunk(out, "iTXt", body.toByteArray());
        }
    }

    static byte[] checkKeyword(String keyword) {
        if (keyword == null || keyword.isEmpty() || keyword.length() > 79) {
            throw new IllegalArgumentException("PNG text keyword must have 1 to 79 characters, got "
                    + (keyword == null ? "null" : "'" + keyword + "' (" + keyword.length() + ")"));
        }
        for (int i = 0; i < keyword.length(); i++) {
            char c = keyword.charAt(i);
            boolean printable = (c >= 32 && c <= 126) || (c >= 161 && c <= 255);
            if (!printable) {
                throw new IllegalArgumentException("PNG text keyword '" + keyword + "' has character U+"
                        + String.format("%04X", (int) c) + "; allowed are printable Latin-1 characters and space");
            }
        }
        if (keyword.startsWith(" ") || keyword.endsWith(" ") || keyword.contains("  ")) {
            throw new IllegalArgumentException("PNG text keyword '" + keyword + "' may not have leading, trailing or consecutive spaces");
        }
        return keyword.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static boolean isLatin1(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) > 255) return false;
        return true;
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) { out.writeBytes(chunk(type, data)); }

    /** One chunk's bytes: data length (big-endian), type, data, CRC-32 of type and data. */
    static byte[] chunk(String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(12 + data.length).putInt(data.length).put(t).put(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        return b.putInt((int) crc.getValue()).array();
    }

    /**
     * Filtered scanlines. Per row the filter with the smallest sum of |signed byte| residuals is
     * chosen (libpng's classic heuristic), ties resolved to the lower filter type.
     */
    static byte[] filter(Image image) {
        int bpp = image.channels();
        int stride = image.width() * bpp;
        byte[] src = image.data();
        byte[] out = new byte[(stride + 1) * image.height()];
        byte[][] cand = new byte[5][stride];
        for (int y = 0; y < image.height(); y++) {
            int row = y * stride, prev = row - stride;
            for (int i = 0; i < stride; i++) {
                int x = src[row + i] & 0xFF;
                int a = i >= bpp ? src[row + i - bpp] & 0xFF : 0;
                int b = y > 0 ? src[prev + i] & 0xFF : 0;
                int c = y > 0 && i >= bpp ? src[prev + i - bpp] & 0xFF : 0;
                cand[0][i] = (byte) x;
                cand[1][i] = (byte) (x - a);
                cand[2][i] = (byte) (x - b);
                cand[3][i] = (byte) (x - ((a + b) >>> 1));
                cand[4][i] = (byte) (x - paeth(a, b, c));
            }
            int best = 0;
            long bestSum = Long.MAX_VALUE;
            for (int f = 0; f < 5; f++) {
                long s = 0;
                for (int i = 0; i < stride; i++) s += Math.abs(cand[f][i]);
                if (s < bestSum) {
                    bestSum = s;
                    best = f;
                }
            }
            int o = y * (stride + 1);
            out[o] = (byte) best;
            System.arraycopy(cand[best], 0, out, o + 1, stride);
        }
        return out;
    }

    private static int paeth(int a, int b, int c) {
        int p = a + b - c;
        int pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        if (pa <= pb && pa <= pc) return a;
        return pb <= pc ? b : c;
    }

    private static byte[] compress(byte[] raw) {
        Deflater d = new Deflater(6);
        try {
            d.setInput(raw);
            d.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 2 + 64);
            byte[] buf = new byte[1 << 16];
            while (!d.finished()) {
                int n = d.deflate(buf);
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            d.end();
        }
    }
}
