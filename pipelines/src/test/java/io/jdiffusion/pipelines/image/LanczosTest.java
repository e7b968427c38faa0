package io.jdiffusion.pipelines.image;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** PIL Lanczos against spec §7.7 written as a dense weight matrix (Pillow output is in PilReferenceTest). */
class LanczosTest {

    static double sinc(double x) {
        return x == 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    }

    /** Fixed-point weights [out][in] over every input pixel (zero outside the filter's support). */
    static int[][] weights(int nIn, int nOut) {
        double scale = (double) nIn / nOut, fs = Math.max(scale, 1);
        int[][] w = new int[nOut][nIn];
        for (int x = 0; x < nOut; x++) {
            double c = (x + 0.5) * scale;
            double[] d = new double[nIn];
            double sum = 0;
            for (int k = 0; k < nIn; k++) {
                double t = (k - c + 0.5) / fs;
                d[k] = (t >= -3 && t < 3) ? sinc(t) * sinc(t / 3) : 0;
                sum += d[k];
            }
            for (int k = 0; k < nIn; k++) {
                double v = d[k] / sum * (1 << 22);
                w[x][k] = (int) (v < 0 ? v - 0.5 : v + 0.5);
            }
        }
        return w;
    }

    static int apply(int[] wRow, int[] line) {
        int acc = 1 << 21;
        for (int k = 0; k < line.length; k++) acc += line[k] * wRow[k];
        return Math.max(0, Math.min(255, acc >> 22));
    }

    /** Horizontal pass to 8 bits, then vertical, on an L image [y][x]. */
    static int[][] plain(int[][] img, int outW, int outH) {
        int h = img.length, w = img[0].length;
        int[][] wx = weights(w, outW), wy = weights(h, outH);
        int[][] mid = new int[h][outW];
        for (int y = 0; y < h; y++) for (int x = 0; x < outW; x++) mid[y][x] = apply(wx[x], img[y]);
        int[][] out = new int[outH][outW];
        for (int x = 0; x < outW; x++) {
            int[] col = new int[h];
            for (int y = 0; y < h; y++) col[y] = mid[y][x];
            for (int y = 0; y < outH; y++) out[y][x] = apply(wy[y], col);
        }
        return out;
    }

    @Test
    void matchesDenseDefinitionForUpAndDownScaling() {
        Random rnd = new Random(5);
        int w = 29, h = 23;
        int[][] img = new int[h][w];
        int[] flat = new int[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                // hard edges make the negative lobes clip at 0 and 255
                img[y][x] = ((x / 4 + y / 3) % 2 == 0) ? rnd.nextInt(40) : 215 + rnd.nextInt(41);
                flat[y * w + x] = img[y][x];
            }
        }
        Image src = Image.ofSamples(w, h, 1, flat);
        int[][] sizes = {{8, 8}, {64, 48}, {29, 7}, {13, 23}, {100, 5}, {3, 61}};
        for (int[] s : sizes) {
            int[][] expected = plain(img, s[0], s[1]);
            Image actual = Lanczos.resize(src, s[0], s[1]);
            for (int y = 0; y < s[1]; y++) {
                for (int x = 0; x < s[0]; x++) {
                    assertEquals(expected[y][x], actual.get(x, y, 0), s[0] + "x" + s[1] + " at (" + x + "," + y + ")");
                }
            }
        }
    }

    @Test
    void rgbChannelsAreIndependent() {
        PerChannel.assertIndependent(9, 17, 11, img -> Lanczos.resize(img, 8, 16));
    }

    @Test
    void sameSizeIsACopyAndFlatStaysFlat() {
        Image img = Image.filled(10, 6, 200);
        assertSame(img, Lanczos.resize(img, 10, 6));
        assertArrayEquals(Image.filled(23, 3, 200).samples(), Lanczos.resize(img, 23, 3).samples());
    }

    @Test
    void rejectsAlphaAndBadSizes() {
        Image rgba = Image.filled(4, 4, 1, 2, 3, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Lanczos.resize(rgba, 8, 8));
        assertEquals(true, e.getMessage().contains("RGBA"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Lanczos.resize(Image.filled(4, 4, 0), 0, 8));
        assertThrows(IllegalArgumentException.class, () -> Lanczos.resize(Image.filled(4, 4, 0), 2, 2, 0, 0, 5, 4));
    }
}
