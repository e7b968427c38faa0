package io.jdiffusion.pipelines.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DilateTest {

    private static final Pattern NAME = Pattern.compile("dilate/k(\\d+)/it(\\d+)");

    /** Every dilate/k&lt;k&gt;/it&lt;n&gt; tensor of reference.safetensors, found by name. */
    @TestFactory
    List<DynamicTest> everyFixtureTensorMatchesExactly() {
        List<String> names = Fixtures.tensors().names().stream().filter(n -> n.startsWith("dilate/")).sorted().toList();
        assertFalse(names.isEmpty(), "no dilate/ tensors in " + Fixtures.root());
        // the input file is named per case in reference.json
        String input = null;
        for (JsonNode c : Fixtures.reference().get("dilation")) {
            assertTrue(names.contains(c.get("key").asText()), "reference.json lists " + c.get("key") + " but the tensor is missing");
            String in = c.get("input").asText();
            if (input == null) input = in;
            assertEquals(input, in, "all dilation cases share one input file");
        }
        Image mask = ImageFiles.read(Fixtures.path(input));
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : names) {
            tests.add(DynamicTest.dynamicTest(name, () -> {
                Matcher m = NAME.matcher(name);
                assertTrue(m.matches(), "unexpected tensor name " + name);
                int k = Integer.parseInt(m.group(1)), it = Integer.parseInt(m.group(2));
                float[] expected = Fixtures.tensor(name).floats();
                int[] shape = Fixtures.tensors().info(name).shape();
                assertArrayEquals(new int[] {mask.height(), mask.width()}, shape, name + " shape vs input image");
                Image out = Dilate.dilate(mask, k, it);
                int bad = 0;
                for (int i = 0; i < expected.length; i++) if (expected[i] != (out.data()[i] & 0xFF)) bad++;
                assertEquals(0, bad, name + ": pixels differing from cv2.dilate");
            }));
        }
        return tests;
    }

    /** Plain definition: n passes, each out[y,x] = max over the in-bounds k×k window anchored at k/2. */
    static int[] naive(int[] src, int w, int h, int k, int n) {
        int a = k / 2;
        int[] cur = src.clone();
        for (int pass = 0; pass < n; pass++) {
            int[] out = new int[cur.length];
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int m = 0;
                    for (int dy = 0; dy < k; dy++) {
                        for (int dx = 0; dx < k; dx++) {
                            int sy = y - a + dy, sx = x - a + dx;
                            if (sy >= 0 && sy < h && sx >= 0 && sx < w) m = Math.max(m, cur[sy * w + sx]);
                        }
                    }
                    out[y * w + x] = m;
                }
            }
            cur = out;
        }
        return cur;
    }

    @Test
    void matchesRepeatedPassesOnGreyNoiseForOddAndEvenKernels() {
        Random rnd = new Random(7);
        int w = 23, h = 17;
        int[] src = new int[w * h];
        for (int i = 0; i < src.length; i++) src[i] = rnd.nextInt(10) < 8 ? 0 : rnd.nextInt(256);
        Image img = Image.ofSamples(w, h, 1, src);
        for (int k = 1; k <= 6; k++) {
            for (int n = 0; n <= 3; n++) {
                assertArrayEquals(naive(src, w, h, k, n), Dilate.dilate(img, k, n).samples(), "k=" + k + " n=" + n);
            }
        }
    }

    @Test
    void evenKernelAnchorsAtLowerRightCentre() {
        // spec §9.1: k=4 (anchor 2) lights 3..6 from a pixel at 4; two iterations light 2..8
        int[] row = new int[12];
        row[4] = 255;
        Image img = Image.ofSamples(12, 1, 1, row);
        int[] one = Dilate.dilate(img, 4, 1).samples();
        int[] two = Dilate.dilate(img, 4, 2).samples();
        for (int x = 0; x < 12; x++) {
            assertEquals(x >= 3 && x <= 6 ? 255 : 0, one[x], "k4 it1 x=" + x);
            assertEquals(x >= 2 && x <= 8 ? 255 : 0, two[x], "k4 it2 x=" + x);
        }
    }

    @Test
    void worksPerChannelAndRejectsBadArguments() {
        Image rgb = Image.ofSamples(3, 1, 3, new int[] {10, 0, 0, 0, 20, 0, 0, 0, 30});
        assertArrayEquals(new int[] {10, 20, 0, 10, 20, 30, 0, 20, 30}, Dilate.dilate(rgb, 3, 1).samples());
        assertThrows(IllegalArgumentException.class, () -> Dilate.dilate(rgb, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Dilate.dilate(rgb, 3, -1));
    }
}
