package io.jdiffusion.pipelines.image;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** PIL GaussianBlur against the spec §9.2 description computed plainly (Pillow output is in PilReferenceTest). */
class GaussianBlurTest {

    @Test
    void boxRadiusMatchesSpecExamples() {
        // spec's rounded values (Pillow's own float arithmetic gives 0.25000003 for r=1; bit-exact
        // agreement with Pillow is checked through the blurred pixels in PilReferenceTest)
        assertEquals(3.4375, GaussianBlur.boxRadius(4f), 1e-6);
        assertEquals(0.25, GaussianBlur.boxRadius(1f), 1e-6);
        assertEquals(2.03012, GaussianBlur.boxRadius(2.5f), 5e-6);
    }

    /**
     * One pass exactly as spec §9.2 writes it, per pixel without a sliding window:
     * acc = Σ p[clamp(i)], v = acc·ww + (p[clamp(x−m−1)] + p[clamp(x+m+1)])·fw, out = (v + 2^23) >> 24.
     */
    static int[] plainPass(int[] p, float radius) {
        int m = (int) Math.floor(radius);
        long ww = (long) ((float) 16777216 / (2 * radius + 1));
        long fw = (16777216L - (2L * m + 1) * ww) / 2;
        int n = p.length;
        int[] out = new int[n];
        for (int x = 0; x < n; x++) {
            long acc = 0;
            for (int i = x - m; i <= x + m; i++) acc += p[Math.max(0, Math.min(n - 1, i))];
            long v = acc * ww + (p[Math.max(0, Math.min(n - 1, x - m - 1))] + p[Math.max(0, Math.min(n - 1, x + m + 1))]) * fw;
            out[x] = (int) ((v + (1L << 23)) >> 24);
        }
        return out;
    }

    /** Three passes along each row, then three along each column, on an L image given as [y][x]. */
    static int[][] plainBlur(int[][] img, float boxRadius) {
        int h = img.length, w = img[0].length;
        int[][] a = new int[h][];
        for (int y = 0; y < h; y++) {
            int[] row = img[y].clone();
            for (int pass = 0; pass < 3; pass++) row = plainPass(row, boxRadius);
            a[y] = row;
        }
        for (int x = 0; x < w; x++) {
            int[] col = new int[h];
            for (int y = 0; y < h; y++) col[y] = a[y][x];
            for (int pass = 0; pass < 3; pass++) col = plainPass(col, boxRadius);
            for (int y = 0; y < h; y++) a[y][x] = col[y];
        }
        return a;
    }

    @Test
    void matchesPlainDefinitionOnNoiseAndMasks() {
        Random rnd = new Random(11);
        int w = 41, h = 19;
        int[][] noise = new int[h][w], mask = new int[h][w];
        int[] flat = new int[w * h], flatMask = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                noise[y][x] = rnd.nextInt(256);
                mask[y][x] = (x > 10 && x < 30 && y > 4 && y < 12) ? 255 : 0;
                flat[y * w + x] = noise[y][x];
                flatMask[y * w + x] = mask[y][x];
            }
        }
        for (float r : new float[] {0.3f, 1f, 2f, 2.5f, 4f, 6.5f, 12f, 30f}) {
            float br = GaussianBlur.boxRadius(r);
            for (int[][] img : new int[][][] {noise, mask}) {
                int[][] expected = plainBlur(img, br);
                Image actual = GaussianBlur.blur(Image.ofSamples(w, h, 1, img == noise ? flat : flatMask), r);
                for (int y = 0; y < h; y++) {
                    for (int x = 0; x < w; x++) {
                        assertEquals(expected[y][x], actual.get(x, y, 0), "r=" + r + " at (" + x + "," + y + ")");
                    }
                }
            }
        }
    }

    @Test
    void rgbIsBlurredPerChannel() {
        PerChannel.assertIndependent(3, 9, 7, img -> GaussianBlur.blur(img, 2f));
    }

    @Test
    void diffusersHelperDefaultsAndEdgeCases() {
        Image mask = Image.ofSamples(5, 1, 1, new int[] {0, 0, 255, 0, 0});
        assertEquals(GaussianBlur.blur(mask, 4f), GaussianBlur.diffusersBlur(mask, GaussianBlur.DIFFUSERS_BLUR_FACTOR));
        assertSame(mask, GaussianBlur.blur(mask, 0f));
        Image constant = Image.filled(6, 4, 77);
        assertArrayEquals(constant.samples(), GaussianBlur.blur(constant, 3f).samples(), "a flat image stays flat");
        assertThrows(IllegalArgumentException.class, () -> GaussianBlur.blur(mask, -1f));
        assertThrows(IllegalArgumentException.class, () -> GaussianBlur.blur(mask, Float.NaN));
    }
}
