package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.Tensor;

import java.lang.ref.SoftReference;
import java.util.Arrays;

/**
 * 3×3 convolutions at stride 1 and padding 1 (every convolution of SDXL's ResNet blocks and
 * upsamplers) by Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016): each 2×2 block of output pixels is computed from the 4×4
 * input tile around it as Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A. Summed over the input channels, the
 * element-wise product becomes 16 GEMMs, one per position ξ of the 4×4 transformed tile:
 * M_ξ[tile, o] = V_ξ[tile, c] · U_ξ[c, o]; 16 multiply-adds per 4 output pixels instead of 36, so
 * 2.25× fewer, for a few additions per pixel in the transforms. The transform matrices hold only
 * 0, ±1 and ±½, so the result differs from the direct sum only in rounding ({@code WinogradConvTest}
 * bounds it against a double-precision loop and the direct GEMM's error).
 *
 * <p>The tiles of the batch are cut into blocks; one thread takes a block and transforms its
 * input straight into the GEMM's packed panel layout (no packing by the GEMM), runs the 16
 * products on the weight's transform (made once per call, in panels), and transforms the products
 * back into the output, adding the bias and the residual. Blocks are small enough that their
 * transforms stay in the caches. {@code -Djdiffusion.cpu.winograd=false} turns it off (every
 * convolution then runs as the implicit-im2col GEMM).
 */
final class WinogradConv {
    private WinogradConv() {}

    static final boolean ENABLED = !"false".equals(System.getProperty("jdiffusion.cpu.winograd"));

    /** Channels in and out below which the direct GEMM is as fast (too little depth for the transforms to pay). */
    static final int MIN_CHANNELS = 16;
    /**
     * 2×2 output tiles of the whole batch below which the direct GEMM is used: every block of tiles
     * reads all 16 transformed weight matrices (16/9 of the weight), and making them costs about as
     * much as a direct convolution over ~150 pixels; with fewer tiles than this the convolution is
     * bound by that memory traffic (SDXL's 1280-channel blocks at 8×8 and 16×16 latents).
     */
    static final int MIN_TILES = 256;
    /** Tiles per block at least when the batch is cut for the cores: each transformed weight value read serves that many tiles. */
    private static final int MIN_BLOCK_TILES = 64;
    /** Floats of one thread's transformed input or products per block, at most (16 MiB). */
    private static final int BLOCK_FLOATS = 4 << 20;
    /** Tiles per block at most: enough rows that each transformed weight panel read serves many multiply-adds. */
    private static final int MAX_BLOCK_TILES = 128;
    /**
     * Floats between the 16 transformed matrices beyond their size: each tile writes (or reads) one
     * value in each of them, and 16 streams a power of two apart would share one set of the L1
     * cache (8 ways), evicting each other on every tile: 3× slower transforms.
     */
    static final int SKEW = 16;

    /**
     * Floats of the transformed weight at most (80 MiB, 16/9 of the weight): it is made per call in a
     * buffer held beside the heap's other data, and a 1280-channel convolution's (105–210 MB) could be
     * what a tight heap (base + refiner at 1024² in 14 GB) does not have; SDXL's 640-channel ones
     * (up to 1920 → 640, 79 MB) fit. Larger ones run as the GEMM.
     */
    static final long MAX_TRANSFORMED_WEIGHT = 20L << 20;

    /** Whether a convolution of this shape (a batch of n) runs here. */
    static boolean applies(int n, int c, int o, int h, int w, int kh, int kw, int stride, int pad) {
        return ENABLED && kh == 3 && kw == 3 && stride == 1 && pad == 1 && c >= MIN_CHANNELS && o >= MIN_CHANNELS
                && (long) n * ((h + 1) / 2) * ((w + 1) / 2) >= MIN_TILES
                && 16L * ((o + 63) / 64 * 64) * c <= MAX_TRANSFORMED_WEIGHT;
    }

    /**
     * y[n, o, h, w] = conv(x, w) + bias (may be null) + residual (may be null: the output's shape, or
     * [n, o, 1, 1] when {@code perChannel}).
     */
    static float[] conv(float[] x, int n, int c, int h, int wd, Tensor w, float[] bias, float[] residual, boolean perChannel) {
        int o = w.dim(0);
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        int mr = kern.mr(), nr = kern.nr();
        // the tiles are the GEMM's rows and the output channels its columns: a panel of the transformed
        // weight (nr outputs × a depth block) is read once per block and product and serves all its tiles
        int oPad = (o + nr - 1) / nr * nr;
        int uStride = oPad * c + SKEW;
        float[] u = transformedWeight(w, o, c, oPad, mr, nr, uStride);

        // blocks of consecutive tiles of the batch (a block may end in one image and go on in the next)
        int th = (h + 1) / 2, tw = (wd + 1) / 2, tiles = th * tw, total = n * tiles;
        int maxTiles = Math.max(mr, Math.min(MAX_BLOCK_TILES, BLOCK_FLOATS / (16 * Math.max(c, o)) / mr * mr));
        int blocks = (total + maxTiles - 1) / maxTiles;
        // at least two blocks per thread where the tiles allow it, so no core waits at the end
        if (blocks < 2 * Parallel.THREADS) blocks = Math.max(blocks, Math.min(2 * Parallel.THREADS, total / MIN_BLOCK_TILES));
        int perBlock = (total + blocks - 1) / blocks, perBlockPad = (perBlock + mr - 1) / mr * mr;
        int items = (total + perBlock - 1) / perBlock;

        float[] y = new float[Math.toIntExact((long) n * o * h * wd)];
        Parallel.forRange(items, 16L * o * c * perBlockPad, item -> {
            int g0 = item * perBlock, count = Math.min(perBlock, total - g0);
            int vStride = c * perBlockPad + SKEW, mStride = perBlockPad * o + SKEW;
            float[] v = Scratch.V.get(16L * vStride), m = Scratch.M.get(16L * mStride);
            for (int g = g0; g < g0 + count; ) { // the block's run of tiles in each image
                int b = g / tiles, t = g % tiles, run = Math.min(g0 + count - g, tiles - t);
                transformInput(x, b * c * h * wd, c, h, wd, tw, t, run, g - g0, mr, v, vStride);
                g += run;
            }
            zeroLanes(v, c, count, perBlockPad, mr, vStride);
            for (int xi = 0; xi < 16; xi++) {
                CpuGemm.gemm(perBlockPad, o, c, new GemmOperand.Prepacked(v, xi * vStride, c, mr, 0, 0),
                        new GemmOperand[] {new GemmOperand.Prepacked(u, xi * uStride, c, nr, 0, 0)},
                        m, new int[] {xi * mStride}, o, false, kern, false, null);
            }
            for (int g = g0; g < g0 + count; ) {
                int b = g / tiles, t = g % tiles, run = Math.min(g0 + count - g, tiles - t);
                transformOutput(m, mStride, o, y, b, h, wd, tw, t, run, g - g0, bias, residual, perChannel);
                g += run;
            }
        });
        return y;
    }

    /**
     * U_ξ = (G g Gᵀ)[ξ] for every (output, input) channel pair, G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]]:
     * 16 matrices [c, oPad] {@code stride} apart, each as the GEMM's B panels of {@code width} output
     * channels ([c][width] per panel; channels past o are zero). The weight is read in its panels of
     * {@code mr} rows when it was packed at load.
     */
    static float[] transformedWeight(Tensor w, int o, int c, int oPad, int mr, int width, int stride) {
        float[] u = Scratch.U.get(16L * stride);
        int k = c * 9;
        // the weight packed at load in panels of mr rows is read in place (9 taps × mr rows per input channel)
        PanelStorage ps = w.storage() instanceof PanelStorage p && w.offset() == 0 && p.width() == mr && p.cols() == k ? p : null;
        float[] wf = ps != null ? ps.data() : w.floats();
        Parallel.forRange(oPad / mr, 16L * c * mr * 4, group -> {
            float[] g = new float[9 * mr];
            int o0 = group * mr, rows = Math.min(mr, o - o0);
            for (int ci = 0; ci < c; ci++) {
                if (ps != null && rows > 0) {
                    System.arraycopy(wf, ps.base() + group * k * mr + ci * 9 * mr, g, 0, 9 * mr);
                } else {
                    Arrays.fill(g, 0f);
                    for (int r = 0; r < rows; r++) for (int t = 0; t < 9; t++) g[t * mr + r] = wf[(o0 + r) * k + ci * 9 + t];
                }
                for (int r = 0; r < mr; r++) {
                    int oc = o0 + r, dst = (oc / width) * c * width + ci * width + oc % width;
                    // rows of G g (4 × 3), then each times Gᵀ
                    float g0 = g[r], g1 = g[mr + r], g2 = g[2 * mr + r], g3 = g[3 * mr + r], g4 = g[4 * mr + r],
                          g5 = g[5 * mr + r], g6 = g[6 * mr + r], g7 = g[7 * mr + r], g8 = g[8 * mr + r];
                    float a10 = 0.5f * (g0 + g3 + g6), a11 = 0.5f * (g1 + g4 + g7), a12 = 0.5f * (g2 + g5 + g8);
                    float a20 = 0.5f * (g0 - g3 + g6), a21 = 0.5f * (g1 - g4 + g7), a22 = 0.5f * (g2 - g5 + g8);
                    row(u, dst, stride, 0, g0, g1, g2);
                    row(u, dst, stride, 1, a10, a11, a12);
                    row(u, dst, stride, 2, a20, a21, a22);
                    row(u, dst, stride, 3, g6, g7, g8);
                }
            }
        });
        return u;
    }

    /** Row i of the transformed filter: (a0, a1, a2) · Gᵀ into ξ = 4i .. 4i+3. */
    private static void row(float[] u, int dst, int stride, int i, float a0, float a1, float a2) {
        int d = dst + 4 * i * stride;
        u[d] = a0;
        u[d + stride] = 0.5f * (a0 + a1 + a2);
        u[d + 2 * stride] = 0.5f * (a0 - a1 + a2);
        u[d + 3 * stride] = a2;
    }

    /**
     * V_ξ = (Bᵀ d B)[ξ] of tiles [t0, t0+count) of one image, Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]],
     * written as the GEMM's A panels of {@code nr} tiles: V_ξ starts at ξ·stride, the tile in lane l
     * (t0 in lane0, then one lane per tile) of channel ci at (l / nr)·c·nr + ci·nr + l % nr.
     */
    static void transformInput(float[] x, int xOff, int c, int h, int wd, int tw, int t0, int count, int lane0, int nr,
                               float[] v, int stride) {
        float[] d = new float[16];
        for (int ci = 0; ci < c; ci++) {
            int plane = xOff + ci * h * wd;
            // the tile's place stepped, not divided: (ty, tx) in the image, (panel, lane) in V
            int ty = t0 / tw, tx = t0 % tw, lane = lane0 % nr, dst = (lane0 / nr) * c * nr + ci * nr + lane;
            for (int t = 0; t < count; t++) {
                int y0 = 2 * ty - 1, x0 = 2 * tx - 1;
                float d00, d01, d02, d03, d10, d11, d12, d13, d20, d21, d22, d23, d30, d31, d32, d33;
                if (y0 >= 0 && y0 + 3 < h && x0 >= 0 && x0 + 3 < wd) {
                    int r0 = plane + y0 * wd + x0, r1 = r0 + wd, r2 = r1 + wd, r3 = r2 + wd;
                    d00 = x[r0]; d01 = x[r0 + 1]; d02 = x[r0 + 2]; d03 = x[r0 + 3];
                    d10 = x[r1]; d11 = x[r1 + 1]; d12 = x[r1 + 2]; d13 = x[r1 + 3];
                    d20 = x[r2]; d21 = x[r2 + 1]; d22 = x[r2 + 2]; d23 = x[r2 + 3];
                    d30 = x[r3]; d31 = x[r3 + 1]; d32 = x[r3 + 2]; d33 = x[r3 + 3];
                } else { // a tile over the image's edge: the padding reads as zero
                    for (int i = 0; i < 4; i++) {
                        int iy = y0 + i;
                        for (int j = 0; j < 4; j++) {
                            int ix = x0 + j;
                            d[4 * i + j] = iy < 0 || iy >= h || ix < 0 || ix >= wd ? 0f : x[plane + iy * wd + ix];
                        }
                    }
                    d00 = d[0]; d01 = d[1]; d02 = d[2]; d03 = d[3];
                    d10 = d[4]; d11 = d[5]; d12 = d[6]; d13 = d[7];
                    d20 = d[8]; d21 = d[9]; d22 = d[10]; d23 = d[11];
                    d30 = d[12]; d31 = d[13]; d32 = d[14]; d33 = d[15];
                }
                // Bᵀ d: combinations of the tile's rows
                float a00 = d00 - d20, a01 = d01 - d21, a02 = d02 - d22, a03 = d03 - d23;
                float a10 = d10 + d20, a11 = d11 + d21, a12 = d12 + d22, a13 = d13 + d23;
                float a20 = d20 - d10, a21 = d21 - d11, a22 = d22 - d12, a23 = d23 - d13;
                float a30 = d10 - d30, a31 = d11 - d31, a32 = d12 - d32, a33 = d13 - d33;
                // (Bᵀ d) B: the same combinations of each row's columns
                put(v, dst, stride, 0, a00, a01, a02, a03);
                put(v, dst, stride, 1, a10, a11, a12, a13);
                put(v, dst, stride, 2, a20, a21, a22, a23);
                put(v, dst, stride, 3, a30, a31, a32, a33);
                if (++tx == tw) {
                    tx = 0;
                    ty++;
                }
                if (++lane == nr) { // the next panel
                    lane = 0;
                    dst += c * nr - (nr - 1);
                } else {
                    dst++;
                }
            }
        }
    }

    /** Lanes [from, cols) of the 16 matrices of {@link #transformInput} set to zero (the block's padding rows of the GEMM). */
    static void zeroLanes(float[] v, int c, int from, int cols, int nr, int stride) {
        for (int l = from; l < cols; l++) {
            for (int ci = 0; ci < c; ci++) {
                int dst = (l / nr) * c * nr + ci * nr + l % nr;
                for (int xi = 0; xi < 16; xi++) v[dst + xi * stride] = 0f;
            }
        }
    }

    /** Row i of Bᵀ d times B into ξ = 4i .. 4i+3. */
    private static void put(float[] v, int dst, int stride, int i, float a0, float a1, float a2, float a3) {
        int d = dst + 4 * i * stride;
        v[d] = a0 - a2;
        v[d + stride] = a1 + a2;
        v[d + 2 * stride] = a2 - a1;
        v[d + 3 * stride] = a1 - a3;
    }

    /**
     * Y = Aᵀ M A, Aᵀ = [[1,1,1,0],[0,1,−1,−1]], for tiles [t0, t0+count) of image b, found in the
     * products' rows from row0 on: M_ξ[row, o] at ξ·stride + row·o + o; the 2×2 pixels that lie in
     * the image are written, plus the bias and residual.
     */
    static void transformOutput(float[] m, int stride, int o, float[] y, int b, int h, int wd, int tw, int t0, int count,
                                int row0, float[] bias, float[] residual, boolean perChannel) {
        float[] full = perChannel ? null : residual;
        int plane = h * wd;
        for (int oc = 0; oc < o; oc++) {
            // the bias and a per-channel residual (the time embedding) are one addend per channel
            float add = (bias == null ? 0f : bias[oc]) + (perChannel && residual != null ? residual[b * o + oc] : 0f);
            int oy = 2 * (t0 / tw), ox = 2 * (t0 % tw), base = (b * o + oc) * plane;
            for (int t = 0, s = row0 * o + oc; t < count; t++, s += o) {
                float m0 = m[s], m1 = m[s + stride], m2 = m[s + 2 * stride], m3 = m[s + 3 * stride];
                float m4 = m[s + 4 * stride], m5 = m[s + 5 * stride], m6 = m[s + 6 * stride], m7 = m[s + 7 * stride];
                float m8 = m[s + 8 * stride], m9 = m[s + 9 * stride], m10 = m[s + 10 * stride], m11 = m[s + 11 * stride];
                float m12 = m[s + 12 * stride], m13 = m[s + 13 * stride], m14 = m[s + 14 * stride], m15 = m[s + 15 * stride];
                // Aᵀ M: rows 0+1+2 and 1−2−3, then the same of their columns
                float p0 = m0 + m4 + m8, p1 = m1 + m5 + m9, p2 = m2 + m6 + m10, p3 = m3 + m7 + m11;
                float q0 = m4 - m8 - m12, q1 = m5 - m9 - m13, q2 = m6 - m10 - m14, q3 = m7 - m11 - m15;
                float y00 = p0 + p1 + p2 + add, y01 = p1 - p2 - p3 + add, y10 = q0 + q1 + q2 + add, y11 = q1 - q2 - q3 + add;
                int at = base + oy * wd + ox;
                boolean right = ox + 1 < wd, below = oy + 1 < h;
                if (full != null) {
                    y00 += full[at];
                    if (right) y01 += full[at + 1];
                    if (below) {
                        y10 += full[at + wd];
                        if (right) y11 += full[at + wd + 1];
                    }
                }
                y[at] = y00;
                if (right) y[at + 1] = y01;
                if (below) {
                    y[at + wd] = y10;
                    if (right) y[at + wd + 1] = y11;
                }
                if ((ox += 2) >= wd) {
                    ox = 0;
                    oy += 2;
                }
            }
        }
    }

    /**
     * Buffers kept between calls (a fresh array is memory the kernel clears on first touch: slow on a
     * VM that hands freed pages back to its host), per thread, held softly so a tight heap can take them back.
     */
    private static final class Scratch {
        static final Scratch U = new Scratch(), V = new Scratch(), M = new Scratch();

        private final ThreadLocal<SoftReference<float[]>> held = new ThreadLocal<>();

        float[] get(long floats) {
            SoftReference<float[]> r = held.get();
            float[] a = r == null ? null : r.get();
            if (a == null || a.length < floats) {
                a = new float[Math.toIntExact(floats)];
                held.set(new SoftReference<>(a));
            }
            return a;
        }
    }
}
