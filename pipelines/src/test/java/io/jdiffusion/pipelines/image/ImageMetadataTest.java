package io.jdiffusion.pipelines.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImageMetadataTest {
    private static Image grey() {
        byte[] px = new byte[16 * 8 * 3];
        for (int i = 0; i < px.length; i++) px[i] = (byte) (i * 7);
        return new Image(16, 8, 3, px);
    }

    @Test
    void jpegCommentsCarryTheRecordAndTheRunId(@TempDir Path tmp) throws Exception {
        Path jpg = tmp.resolve("x.jpeg");
        Files.write(jpg, ImageFiles.encodeJpeg(grey(), 90, List.of("{\"a\":1}", ImageMetadata.runComment("20261203-140000-000-abc"))));
        Map<String, String> m = ImageMetadata.read(jpg);
        assertEquals(Map.of("jdiffusion", "{\"a\":1}", "jdiffusion-run", "20261203-140000-000-abc"), m);
        assertEquals("20261203-140000-000-abc", ImageMetadata.runId(jpg));
        // the one-comment form (the record only) is unchanged and carries no run id
        Path one = tmp.resolve("one.jpg");
        Files.write(one, ImageFiles.encodeJpeg(grey(), 90, "{\"b\":2}"));
        assertEquals(Map.of("jdiffusion", "{\"b\":2}"), ImageMetadata.read(one));
        assertNull(ImageMetadata.runId(one));
    }

    @Test
    void pngTextAndOtherFormats(@TempDir Path tmp) throws Exception {
        Path png = tmp.resolve("x.dat"); // the first bytes decide, not the name
        Files.write(png, PngWriter.encode(grey(), Map.of("jdiffusion-run", "r1")));
        assertEquals("r1", ImageMetadata.runId(png));
        Path gif = tmp.resolve("x.gif");
        Files.write(gif, "GIF89a....".getBytes());
        var e = assertThrows(IllegalArgumentException.class, () -> ImageMetadata.read(gif));
        assertEquals(gif + " is neither a PNG nor a JPEG file", e.getMessage());
    }
}
