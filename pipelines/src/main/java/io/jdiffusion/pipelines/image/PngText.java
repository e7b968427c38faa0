package io.jdiffusion.pipelines.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Reads the text chunks ({@code tEXt}, {@code zTXt}, {@code iTXt}) of a PNG file, keyword → text in
 * file order (a repeated keyword keeps its first position and its last value, like PIL's
 * {@code im.info}/{@code im.text}). Chunk CRCs are checked. Compressed text is inflated only for our
 * own keywords and within caps ({@link BoundedInflate}); other compressed chunks are left out.
 */
public final class PngText {
    private PngText() {}

    /** Largest PNG file read for its text: a 16384² RGBA image with room to spare. */
    static final long MAX_FILE_BYTES = (1L << 30) + (64L << 20);

    public static Map<String, String> read(Path path) {
        try {
            if (Files.exists(path) && !Files.isRegularFile(path)) throw new IllegalArgumentException(path + " is not a regular file"); // /dev/zero never ends
            if (Files.size(path) > MAX_FILE_BYTES) {
                throw new IllegalArgumentException(path + " has " + Files.size(path) + " bytes; PNG files of more than " + MAX_FILE_BYTES + " are not read");
            }
            return read(Files.readAllBytes(path), path.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    public static Map<String, String> read(byte[] png, String name) {
        if (!ImageFiles.isPng(png)) throw new IllegalArgumentException(name + " is not a PNG file (bad signature)");
        Map<String, String> text = new LinkedHashMap<>();
        int budget = BoundedInflate.MAX_FILE_TEXT; // inflated text left for this file
        ByteBuffer b = ByteBuffer.wrap(png);
        b.position(8);
        while (b.remaining() >= 12) {
            int len = b.getInt();
            int start = b.position();
            if (len < 0 || len > b.remaining() - 8) {
                throw new IllegalArgumentException(name + ": PNG chunk at byte " + (start - 4) + " has bad length " + len);
            }
            String type = new String(png, start, 4, StandardCharsets.ISO_8859_1);
            CRC32 crc = new CRC32();
            crc.update(png, start, 4 + len);
            int stored = ByteBuffer.wrap(png, start + 4 + len, 4).getInt();
            if ((int) crc.getValue() != stored) {
                throw new IllegalArgumentException(name + ": CRC mismatch in PNG chunk " + type + " at byte " + (start - 4));
            }
            int data = start + 4;
            switch (type) {
                case "tEXt" -> {
                    int z = nul(png, data, data + len, name, type);
                    text.put(latin1(png, data, z), latin1(png, z + 1, data + len));
                }
                case "zTXt" -> {
                    int z = nul(png, data, data + len, name, type);
                    String key = latin1(png, data, z);
                    if (BoundedInflate.OWN_KEYWORDS.contains(key)) { // others' compressed text is not inflated
                        byte[] inflated = BoundedInflate.inflate(png, z + 2, data + len, name, key, Math.min(budget, BoundedInflate.MAX_CHUNK_TEXT));
                        budget -= inflated.length;
                        text.put(key, new String(inflated, StandardCharsets.ISO_8859_1));
                    }
                }
                case "iTXt" -> {
                    int end = data + len;
                    int z = nul(png, data, end, name, type);
                    if (z + 3 > end) throw new IllegalArgumentException(name + ": truncated iTXt chunk");
                    boolean compressed = png[z + 1] != 0;
                    int lang = nul(png, z + 3, end, name, type);
                    int translated = nul(png, lang + 1, end, name, type);
                    String key = latin1(png, data, z);
                    if (compressed && !BoundedInflate.OWN_KEYWORDS.contains(key)) break; // others' compressed text is not inflated
                    byte[] body = compressed ? BoundedInflate.inflate(png, translated + 1, end, name, key, Math.min(budget, BoundedInflate.MAX_CHUNK_TEXT))
                            : java.util.Arrays.copyOfRange(png, translated + 1, end);
                    if (compressed) budget -= body.length;
                    text.put(key, new String(body, StandardCharsets.UTF_8));
                }
                default -> { }
            }
            b.position(start + 4 + len + 4);
            if (type.equals("IEND")) break;
        }
        return text;
    }

    private static int nul(byte[] b, int from, int to, String name, String type) {
        for (int i = from; i < to; i++) if (b[i] == 0) return i;
        throw new IllegalArgumentException(name + ": malformed " + type + " chunk (missing NUL separator)");
    }

    private static String latin1(byte[] b, int from, int to) {
        return new String(b, from, to - from, StandardCharsets.ISO_8859_1);
    }
}
