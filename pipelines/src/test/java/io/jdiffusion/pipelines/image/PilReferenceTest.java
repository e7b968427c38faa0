package io.jdiffusion.pipelines.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every case of {@code testdata/pil-reference/index.json}: outputs of the real Pillow 12.3 / OpenCV 5.0
 * (see make_pil_reference.py there), compared pixel for pixel.
 */
class PilReferenceTest {

    /** testdata/pil-reference: made once by its make_pil_reference.py; the tests need no Python. */
    static Path dir() { return io.jdiffusion.tensor.testing.Fixtures.testdata().resolve("pil-reference"); }

    static JsonNode index() throws Exception {
        return new ObjectMapper().readTree(dir().resolve("index.json").toFile());
    }

    static Image png(String name) {
        return ImageFiles.read(dir().resolve(name));
    }

    @Test
    void indexCoversEveryOperation() throws Exception {
        List<String> ops = new ArrayList<>();
        for (JsonNode c : index().get("cases")) if (!ops.contains(c.get("op").asText())) ops.add(c.get("op").asText());
        assertEquals(List.of("convert_L", "lanczos", "lanczos_box", "bicubic_box", "gaussian_blur", "gaussian_blur_xy", "dilate",
                "open_convert_RGB", "open_convert_L", "mask_resize_then_L", "resize_fill", "resize_crop", "apply_overlay"), ops);
    }

    @TestFactory
    List<DynamicTest> pilCases() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : index().get("cases")) {
            String op = c.get("op").asText();
            String name = op + " " + c.get("input").asText() + " -> " + c.get("output").asText();
            tests.add(DynamicTest.dynamicTest(name, () -> {
                Image expected = png(c.get("output").asText());
                Image actual = run(op, c);
                assertSame(name, expected, actual);
            }));
        }
        return tests;
    }

    private static Image run(String op, JsonNode c) {
        String input = c.get("input").asText();
        return switch (op) {
            case "convert_L" -> png(input).toL();
            case "lanczos" -> Lanczos.resize(png(input), c.get("width").asInt(), c.get("height").asInt());
            case "lanczos_box" -> {
                JsonNode b = c.get("box");
                yield Lanczos.resize(png(input), c.get("width").asInt(), c.get("height").asInt(),
                        b.get(0).asDouble(), b.get(1).asDouble(), b.get(2).asDouble(), b.get(3).asDouble());
            }
            case "bicubic_box" -> {
                JsonNode b = c.get("box");
                yield PilResize.resize(png(input), c.get("width").asInt(), c.get("height").asInt(), PilResize.Filter.BICUBIC,
                        b.get(0).asDouble(), b.get(1).asDouble(), b.get(2).asDouble(), b.get(3).asDouble());
            }
            case "gaussian_blur" -> GaussianBlur.blur(png(input), (float) c.get("radius").asDouble());
            case "gaussian_blur_xy" -> GaussianBlur.blur(png(input), (float) c.get("radius").get(0).asDouble(),
                    (float) c.get("radius").get(1).asDouble());
            case "dilate" -> Dilate.dilate(png(input), c.get("kernel").asInt(), c.get("iterations").asInt());
            case "open_convert_RGB" -> png(input).toRgb();
            case "open_convert_L" -> png(input).toL();
            case "mask_resize_then_L" -> Lanczos.resize(png(input), c.get("width").asInt(), c.get("height").asInt()).toL();
            case "resize_fill" -> ImageProcessor.resize(png(input), c.get("width").asInt(), c.get("height").asInt(),
                    ImageProcessor.ResizeMode.FILL);
            case "resize_crop" -> ImageProcessor.resize(png(input), c.get("width").asInt(), c.get("height").asInt(),
                    ImageProcessor.ResizeMode.CROP);
            case "apply_overlay" -> {
                JsonNode b = c.get("crop");
                CropBox box = b == null ? null : new CropBox(b.get(0).asInt(), b.get(1).asInt(), b.get(2).asInt(), b.get(3).asInt());
                yield Overlay.apply(png(c.get("mask").asText()), png(input), png(c.get("image").asText()), box);
            }
            default -> throw new AssertionError("unknown op " + op);
        };
    }

    /** Exact equality, reporting how many samples differ and the worst one. */
    static void assertSame(String what, Image expected, Image actual) {
        assertEquals(expected.width() + "x" + expected.height() + "x" + expected.channels(),
                actual.width() + "x" + actual.height() + "x" + actual.channels(), what + ": shape");
        int bad = 0, worst = 0, at = -1;
        for (int i = 0; i < expected.data().length; i++) {
            int d = Math.abs((expected.data()[i] & 0xFF) - (actual.data()[i] & 0xFF));
            if (d != 0) bad++;
            if (d > worst) { worst = d; at = i; }
        }
        if (bad != 0) {
            int px = at / expected.channels();
            fail(what + ": " + bad + " of " + expected.data().length + " samples differ, worst by " + worst + " at (x="
                    + (px % expected.width()) + ", y=" + (px / expected.width()) + ", c=" + (at % expected.channels()) + ")");
        }
        assertTrue(expected.equals(actual));
    }
}
