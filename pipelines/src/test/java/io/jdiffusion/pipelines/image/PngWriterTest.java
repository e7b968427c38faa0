package io.jdiffusion.pipelines.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PngWriterTest {

    static Image noise(int w, int h, int ch, long seed) {
        Random rnd = new Random(seed);
        int[] s = new int[w * h * ch];
        for (int i = 0; i < s.length; i++) s[i] = (i % 7 == 0) ? rnd.nextInt(256) : (i * 13 / ch) & 0xFF;
        return Image.ofSamples(w, h, ch, s);
    }

    static Map<String, String> text() {
        Map<String, String> t = new LinkedHashMap<>();
        t.put("parameters", "a photo of a cat, café\nNegative prompt: blurry\nSteps: 30, Sampler: Euler, CFG scale: 7.0, Seed: 42");
        t.put("jdiffusion", "{\"prompt\":\"東京の夜景 ✓\",\"seed\":42,\"steps\":30}");
        return t;
    }

    /** (type, data) of every chunk, parsed plainly. */
    static List<Map.Entry<String, byte[]>> chunks(byte[] png) {
        List<Map.Entry<String, byte[]>> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(png, 8, png.length - 8);
        while (b.hasRemaining()) {
            int len = b.getInt();
            byte[] type = new byte[4];
            b.get(type);
            byte[] data = new byte[len];
            b.get(data);
            b.getInt();
            out.add(Map.entry(new String(type, StandardCharsets.US_ASCII), data));
        }
        return out;
    }

    @Test
    void textChunksRoundTripAndPixelsDecodeWithImageIo() throws Exception {
        for (int ch = 1; ch <= 4; ch++) {
            Image img = noise(13, 9, ch, ch);
            byte[] png = PngWriter.encode(img, text());
            assertEquals(text(), PngText.read(png, "mem"), "text of a " + img.mode() + " PNG");
            assertEquals(List.copyOf(text().keySet()), List.copyOf(PngText.read(png, "mem").keySet()), "order kept");
            assertEquals(img, ImageFiles.read(png, "mem"), img.mode() + " pixels");
            BufferedImage bi = ImageIO.read(new ByteArrayInputStream(png));
            assertEquals(ch, bi.getRaster().getNumBands());
            int[] px = bi.getRaster().getPixels(0, 0, 13, 9, (int[]) null);
            assertArrayEquals(img.samples(), px, "ImageIO decodes the same samples for " + img.mode());
        }
    }

    @Test
    void latinTextIsTextAndOtherTextIsUtf8Itxt() {
        byte[] png = PngWriter.encode(noise(4, 4, 3, 1), text());
        List<String> types = chunks(png).stream().map(Map.Entry::getKey).toList();
        assertEquals(List.of("IHDR", "tEXt", "iTXt", "IDAT", "IEND"), types, "no time or other chunks");
        byte[] t = chunks(png).get(1).getValue();
        assertEquals("parameters\0" + text().get("parameters"), new String(t, StandardCharsets.ISO_8859_1));
        byte[] it = chunks(png).get(2).getValue();
        byte[] expected = ("jdiffusion\0\0\0\0\0" + text().get("jdiffusion")).getBytes(StandardCharsets.UTF_8);
        assertArrayEquals(expected, it, "iTXt: keyword, flags 0 0, empty language and translated keyword, UTF-8");
    }

    @Test
    void sameInputGivesIdenticalBytes(@TempDir Path dir) throws Exception {
        Image img = noise(64, 40, 3, 9);
        byte[] a = PngWriter.encode(img, text());
        byte[] b = PngWriter.encode(noise(64, 40, 3, 9), new LinkedHashMap<>(text()));
        assertArrayEquals(a, b);
        PngWriter.write(dir.resolve("a.png"), img, text());
        Thread.sleep(5);
        PngWriter.write(dir.resolve("b.png"), img, text());
        assertArrayEquals(Files.readAllBytes(dir.resolve("a.png")), Files.readAllBytes(dir.resolve("b.png")));
        assertArrayEquals(a, Files.readAllBytes(dir.resolve("a.png")));
    }

    @Test
    void writeReplacesAtomicallyAndLeavesNoTemporaryFiles(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("out.png");
        Files.writeString(p, "old");
        Image img = noise(5, 5, 1, 2);
        ImageFiles.writePng(p, img, Map.of("parameters", "x"));
        assertEquals(img, ImageFiles.read(p));
        assertEquals(Map.of("parameters", "x"), PngText.read(p));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(p), s.toList());
        }
    }

    @Test
    void writeGenerationStoresBothRecords(@TempDir Path dir) {
        Path p = dir.resolve("gen.png");
        PngWriter.writeGeneration(p, noise(8, 8, 3, 5), "cat\nSteps: 4", "{\"seed\":1}");
        assertEquals(Map.of("parameters", "cat\nSteps: 4", "jdiffusion", "{\"seed\":1}"), PngText.read(p));
        PngWriter.writeGeneration(p, noise(8, 8, 3, 5), null, "{}");
        assertEquals(Map.of("jdiffusion", "{}"), PngText.read(p));
    }

    @Test
    void failedWriteLeavesTargetAndFolderUntouched(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("taken.png");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "k");
        // a folder is refused as a bad argument (exit 2 on the command line), never replaced
        assertThrows(IllegalArgumentException.class, () -> PngWriter.write(target, noise(3, 3, 3, 1), Map.of()));
        assertTrue(Files.isDirectory(target));
        assertEquals("k", Files.readString(target.resolve("keep.txt")));
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(target), s.toList(), "temporary file removed");
        }
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> PngWriter.write(dir.resolve("missing/x.png"), noise(3, 3, 3, 1), Map.of()));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("missing")));
    }

    @Test
    void rejectsBadKeywordsAndNul() {
        Image img = noise(2, 2, 1, 1);
        for (String bad : new String[] {"", " lead", "trail ", "two  spaces", "x".repeat(80), "tab\tkey", "snow☃"}) {
            assertThrows(IllegalArgumentException.class, () -> PngWriter.encode(img, Map.of(bad, "v")), "keyword '" + bad + "'");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PngWriter.encode(img, Map.of("parameters", "a\0b")));
        assertTrue(e.getMessage().contains("parameters") && e.getMessage().contains("NUL"), e.getMessage());
    }

    // --- reader: chunks written here by hand ---

    static byte[] chunk(String type, byte[] data) { return PngWriter.chunk(type, data); }

    static byte[] zlib(byte[] in) {
        Deflater d = new Deflater();
        d.setInput(in);
        d.finish();
        byte[] buf = new byte[in.length + 64];
        int n = d.deflate(buf);
        d.end();
        return java.util.Arrays.copyOf(buf, n);
    }

    @Test
    void readerHandlesZtxtAndCompressedItxtAndChecksCrc() {
        byte[] base = PngWriter.encode(noise(2, 2, 1, 1), Map.of());
        int iend = base.length - 12;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(base, 0, iend);
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        z.writeBytes("parameters\0\0".getBytes(StandardCharsets.ISO_8859_1));
        z.writeBytes(zlib("zipped Latin-1 text: é".getBytes(StandardCharsets.ISO_8859_1)));
        o.writeBytes(chunk("zTXt", z.toByteArray()));
        ByteArrayOutputStream it = new ByteArrayOutputStream();
        it.writeBytes("jdiffusion\0\1\0ja\0タイトル\0".getBytes(StandardCharsets.UTF_8));
        it.writeBytes(zlib("圧縮された UTF-8".getBytes(StandardCharsets.UTF_8)));
        o.writeBytes(chunk("iTXt", it.toByteArray()));
        o.write(base, iend, 12);
        byte[] png = o.toByteArray();
        Map<String, String> t = PngText.read(png, "mem");
        assertEquals(Map.of("parameters", "zipped Latin-1 text: é", "jdiffusion", "圧縮された UTF-8"), t);

        png[iend + 10] ^= 1; // inside the zTXt data
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PngText.read(png, "bad.png"));
        assertTrue(e.getMessage().contains("CRC") && e.getMessage().contains("zTXt"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PngText.read(new byte[] {1, 2, 3}, "junk"));
    }
}
