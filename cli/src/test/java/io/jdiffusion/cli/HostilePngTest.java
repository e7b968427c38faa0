package io.jdiffusion.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.PngText;
import io.jdiffusion.pipelines.image.PngChunks;
import io.jdiffusion.pipelines.image.PngWriter;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.Deflater;

import static io.jdiffusion.cli.HostileCli.expect;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Defect 3 of issue 16 (decompression bombs in PNG text chunks) and hostile generation records
 * inside PNGs given to {@code reproduce}: sizes far beyond the limits, nulls, an unknown scheduler.
 * Each is refused with exit status 2 before any model work, and no output file is written.
 */
class HostilePngTest {
    @TempDir
    static Path tmp;
    static Path made;
    static final ObjectMapper JSON = new ObjectMapper();

    /** One real output of the fixture base model: its record is the starting point of the hostile ones. */
    @BeforeAll
    static void generate() {
        made = tmp.resolve("made.png");
        HostileCli.ok(HostileCli.txt2img(HostileCli.base(), made));
    }

    /** A PNG of a 8×8 grey image whose chunks are the given text chunks (type → body), before IEND. */
    static byte[] pngWith(String type, byte[] body) {
        return PngChunks.beforeIend(PngWriter.encode(new Image(8, 8, 1, new byte[64]), Map.of()), type, body);
    }

    /** zlib of {@code n} zero bytes, streamed (the compressed stream is about n / 1000 bytes). */
    static byte[] zerosCompressed(long n) {
        Deflater d = new Deflater(9);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] zeros = new byte[1 << 20], buf = new byte[1 << 16];
        for (long left = n; left > 0; left -= zeros.length) {
            d.setInput(zeros, 0, (int) Math.min(zeros.length, left));
            while (!d.needsInput()) out.write(buf, 0, d.deflate(buf));
        }
        d.finish();
        while (!d.finished()) out.write(buf, 0, d.deflate(buf));
        d.end();
        return out.toByteArray();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    @Test
    void aCompressedTextBombIsRefused() throws IOException {
        byte[] bomb = zerosCompressed(256L << 20); // 256 MiB of text from ~250 KiB
        Path z = tmp.resolve("bomb-ztxt.png");
        Files.write(z, pngWith("zTXt", concat("jdiffusion\0\0".getBytes(StandardCharsets.ISO_8859_1), bomb)));
        Path out = tmp.resolve("never.png");
        expect(2, "inflates to more than", "reproduce", z.toString(), "-o", out.toString(), "--quiet");
        Path i = tmp.resolve("bomb-itxt.png");
        Files.write(i, pngWith("iTXt", concat("jdiffusion\0\1\0\0\0".getBytes(StandardCharsets.ISO_8859_1), bomb)));
        expect(2, "inflates to more than", "reproduce", i.toString(), "-o", out.toString(), "--quiet");
        assertFalse(Files.exists(out));
    }

    @Test
    void compressedTextUnderOtherKeywordsIsNotInflated() throws IOException {
        byte[] png = pngWith("zTXt", concat("Comment\0\0".getBytes(StandardCharsets.ISO_8859_1), zerosCompressed(256L << 20)));
        assertTrue(PngText.read(png, "mem").isEmpty(), "a foreign compressed chunk is skipped, not inflated");
        Path p = tmp.resolve("foreign.png");
        Files.write(p, png);
        expect(2, "carries no jdiffusion generation record", "reproduce", p.toString(), "-o", tmp.resolve("never.png").toString());
    }

    @Test
    void manySmallChunksCannotExceedTheFileCap() {
        byte[] one = concat("parameters\0\0".getBytes(StandardCharsets.ISO_8859_1), zerosCompressed(1 << 20));
        byte[] png = pngWith("zTXt", one);
        for (int k = 0; k < 6; k++) png = PngChunks.beforeIend(png, "zTXt", one);
        byte[] many = png;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PngText.read(many, "many.png"));
        assertTrue(e.getMessage().contains("per file"), e.getMessage());
    }

    /** {@code made.png} with its record edited. */
    private static Path withRecord(String name, Consumer<ObjectNode> edit) throws IOException {
        Map<String, String> text = new LinkedHashMap<>(PngText.read(made));
        ObjectNode record = (ObjectNode) JSON.readTree(text.get(PngWriter.JDIFFUSION_KEYWORD));
        edit.accept(record);
        text.put(PngWriter.JDIFFUSION_KEYWORD, JSON.writeValueAsString(record));
        Path p = tmp.resolve(name);
        PngWriter.write(p, ImageFiles.read(made), text);
        return p;
    }

    @Test
    void hostileRecordsAreRefusedBeforeAnyWork() throws IOException {
        Path out = tmp.resolve("never.png");
        Object[][] cases = {
                {"huge.png", (Consumer<ObjectNode>) r -> r.put("width", 65536).put("height", 65536), "width must be at most 16384"},
                {"overflow.png", (Consumer<ObjectNode>) r -> r.put("width", 2147483640), "width"},
                {"steps.png", (Consumer<ObjectNode>) r -> r.put("steps", 100000), "steps must be in [1, 1000]"},
                {"images.png", (Consumer<ObjectNode>) r -> r.put("imagesPerPrompt", 100000), "imagesPerPrompt"},
                {"nullmodels.png", (Consumer<ObjectNode>) r -> r.putNull("models"), "models.base is missing"},
                {"nullprompt.png", (Consumer<ObjectNode>) r -> r.putNull("prompt"), "prompt is missing"},
                {"pipeline.png", (Consumer<ObjectNode>) r -> r.put("pipeline", "\u001b[2Jevil"), "pipeline must be one of"},
                {"scheduler.png", (Consumer<ObjectNode>) r -> r.put("scheduler", "heun9000"), "unknown scheduler 'heun9000'"},
        };
        for (Object[] c : cases) {
            @SuppressWarnings("unchecked") Consumer<ObjectNode> edit = (Consumer<ObjectNode>) c[1];
            Path p = withRecord((String) c[0], edit);
            expect(2, (String) c[2], "reproduce", p.toString(), "-o", out.toString(), "--quiet");
            assertFalse(Files.exists(out));
        }
    }

    @Test
    void aFolderGivenAsPngIsNamedAsSuch() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("a-folder.png"));
        expect(2, "is a folder", "reproduce", dir.toString(), "-o", tmp.resolve("never.png").toString());
    }
}
