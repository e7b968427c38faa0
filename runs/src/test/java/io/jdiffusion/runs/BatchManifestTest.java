package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reading manifests: CSV quoting, line ends and byte order mark, JSON Lines values, paths relative to the manifest. */
class BatchManifestTest {
    @TempDir
    Path tmp;

    private Path data() throws IOException {
        Path d = Files.createDirectories(tmp.resolve("set/photos"));
        Files.writeString(d.resolve("a.png"), "x"); // existence is checked here; decoding when the row runs
        Files.writeString(d.resolve("a-mask.png"), "x");
        return d;
    }

    @Test
    void csvWithQuotesCrLfAndByteOrderMark() throws IOException {
        data();
        Path m = tmp.resolve("set/m.csv");
        Files.writeString(m, "\uFEFFImage,Mask,Prompt,Negative Prompt,Seeds,Task,Extend,Overlap\r\n"
                + "photos/a.png,photos/a-mask.png,\"a vase, \"\"red\"\"\nand tall\",,1;-737 5,,,\r\n"
                + "\r\n"
                + "photos/a.png,,sky,dark,,OUTPAINT,\"0, 8, 16, 24\",4\r\n");
        List<BatchManifest.Row> rows = BatchManifest.read(m);
        assertEquals(2, rows.size());
        BatchManifest.Row a = rows.get(0), b = rows.get(1);
        assertEquals(tmp.resolve("set/photos/a.png").toAbsolutePath().normalize(), a.image());
        assertEquals(tmp.resolve("set/photos/a-mask.png").toAbsolutePath().normalize(), a.mask());
        assertEquals("a vase, \"red\"\nand tall", a.prompt());
        assertNull(a.negativePrompt());
        assertArrayEquals(new long[] {1, -737, 5}, a.seeds());
        assertEquals(BatchManifest.Task.INPAINT, a.task());
        assertEquals(BatchManifest.Task.OUTPAINT, b.task());
        assertArrayEquals(new long[] {0}, b.seeds(), "default seed");
        assertEquals(List.of(0, 8, 16, 24, 4), List.of(b.outpaint().left(), b.outpaint().top(), b.outpaint().right(),
                b.outpaint().bottom(), b.outpaint().overlap()));
        assertEquals("row 2 (a.png, outpaint)", b.label());
    }

    @Test
    void jsonLinesTakeNumbersAndArrays() throws IOException {
        data();
        Path m = tmp.resolve("set/m.jsonl");
        Files.writeString(m, "{\"image\": \"photos/a.png\", \"mask\": \"photos/a-mask.png\", \"prompt\": \"p\", \"seed\": -737}\n\n"
                + "{\"image\": \"photos/a.png\", \"prompt\": \"q\", \"seeds\": [3, 4], \"task\": \"outpaint\", \"extend\": [0, 0, 64, 0]}\n");
        List<BatchManifest.Row> rows = BatchManifest.read(m);
        assertArrayEquals(new long[] {-737}, rows.get(0).seeds());
        assertArrayEquals(new long[] {3, 4}, rows.get(1).seeds());
        assertEquals(64, rows.get(1).outpaint().right());
    }

    @Test
    void errorsNameTheRowAndColumn() throws IOException {
        data();
        Path m = tmp.resolve("set/m.jsonl");
        Files.writeString(m, "{\"image\": \"photos/a.png\", \"mask\": \"photos/a-mask.png\", \"prompt\": \"p\"}\n"
                + "{\"image\": \"photos/a.png\", \"prompt\": \"q\", \"task\": \"outpaint\", \"extend\": [0, 0, 99999, 0]}\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchManifest.read(m));
        assertTrue(e.getMessage().startsWith("m.jsonl row 2, column 'extend': outpaint extent right must be in [0, "), e.getMessage());
        Files.writeString(m, "{\"image\": \"photos/a.png\", \"mask\": \"photos/a-mask.png\", \"prompt\": \"p\", \"seed\": 1, \"seeds\": [2]}\n");
        e = assertThrows(IllegalArgumentException.class, () -> BatchManifest.read(m));
        assertEquals("m.jsonl row 1: give 'seed' or 'seeds', not both", e.getMessage());
        Files.writeString(m, "{\"image\": \"photos/a.png\", \"mask\": \"photos/a-mask.png\", \"prompt\": {\"x\": 1}}\n");
        e = assertThrows(IllegalArgumentException.class, () -> BatchManifest.read(m));
        assertTrue(e.getMessage().startsWith("m.jsonl row 1, key 'prompt': expected text"), e.getMessage());
        Files.writeString(m, "{\"image\": \"photos/a.png\", \"mask\": \"../../etc/nothing-here.png\", \"prompt\": \"p\"}\n");
        e = assertThrows(IllegalArgumentException.class, () -> BatchManifest.read(m));
        assertTrue(e.getMessage().startsWith("m.jsonl row 1, column 'mask': no such file"), e.getMessage());
    }
}
