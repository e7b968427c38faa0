package io.jdiffusion.tensor.cpu;

import java.util.Arrays;

/**
 * One operand of {@link CpuGemm}'s product seen as lines along the depth K: the rows of A, or the
 * columns of op(B). The micro-kernel reads it in panels of w lines × kc depth steps, stored
 * {@code panel[p·w + l]}; an operand either packs such a panel into a scratch buffer (from a
 * matrix, or straight from an image for a convolution: the implicit im2col) or already holds its
 * lines in that layout ({@link Prepacked}, weights packed once at load), so nothing is copied.
 */
interface GemmOperand {
    /**
     * Makes the panel of lines [line, line+count) (count ≤ w; lines past count read as zero) at
     * depth [p0, p0+kc) readable and returns its offset in {@link #array}(buf): packed into
     * {@code buf} at {@code bufOff}, or where it already lies.
     */
    int panel(int w, int line, int count, int p0, int kc, float[] buf, int bufOff);

    /** The array {@link #panel} offsets point into. */
    default float[] array(float[] buf) { return buf; }

    /** Whether packing a panel costs much more than copying it (widening from the file): packed as few times as possible. */
    default boolean costlyToPack() { return false; }

    /** Line l at depth p is {@code x[off + l·ld + p]}: A's rows, or op(B)'s columns when B is stored transposed. */
    static GemmOperand lines(float[] x, int off, int ld) {
        return new GemmOperand() {
            @Override
            public int panel(int w, int line, int count, int p0, int kc, float[] buf, int bufOff) {
                for (int l = 0; l < count; l++) {
                    int s = off + (line + l) * ld + p0;
                    for (int p = 0; p < kc; p++) buf[bufOff + p * w + l] = x[s + p];
                }
                if (count < w) for (int p = 0; p < kc; p++) Arrays.fill(buf, bufOff + p * w + count, bufOff + p * w + w, 0f);
                return bufOff;
            }
        };
    }

    /**
     * Line l at depth p is element {@code off + l·ld + p} of {@code s}: a weight still in its file
     * (F16, BF16 or F32 in mapped memory, {@link CpuBackend#withWeightsInPlace}), widened line by
     * line into the panel as it is packed, so no F32 copy of the whole weight is made on each call
     * (that copy, 3 GB per prompt for SDXL's text encoders, was most of their time: fresh pages
     * the kernel clears, and the collector).
     */
    static GemmOperand stored(io.jdiffusion.tensor.Storage s, long off, int ld) {
        return new GemmOperand() {
            @Override
            public int panel(int w, int line, int count, int p0, int kc, float[] buf, int bufOff) {
                float[] row = ROW.get();
                for (int l = 0; l < count; l++) {
                    s.readFloats(off + (long) (line + l) * ld + p0, row, 0, kc);
                    for (int p = 0; p < kc; p++) buf[bufOff + p * w + l] = row[p];
                }
                if (count < w) for (int p = 0; p < kc; p++) Arrays.fill(buf, bufOff + p * w + count, bufOff + p * w + w, 0f);
                return bufOff;
            }

            @Override public boolean costlyToPack() { return true; }
        };
    }

    /** One line's depth block, widened ({@link #stored}). */
    ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[CpuGemm.KC]);

    /** Line l at depth p is {@code x[off + p·ld + l]}: B's columns when B is stored [K, N]. */
    static GemmOperand depthRows(float[] x, int off, int ld) {
        return new GemmOperand() {
            @Override
            public int panel(int w, int line, int count, int p0, int kc, float[] buf, int bufOff) {
                for (int p = 0; p < kc; p++) {
                    int d = bufOff + p * w;
                    System.arraycopy(x, off + (p0 + p) * ld + line, buf, d, count);
                    if (count < w) Arrays.fill(buf, d + count, d + w, 0f);
                }
                return bufOff;
            }
        };
    }

    /**
     * Lines already packed in panels ({@link PanelStorage}, or K and Vᵀ of an attention), read in
     * place: the panels of {@code width} lines of depth {@code cols} from {@code data[base]} on, seen from
     * line {@code line0} (a multiple of width) and depth {@code depth0} on.
     */
    record Prepacked(float[] data, int base, int cols, int width, int line0, int depth0) implements GemmOperand {
        public Prepacked {
            if (line0 % width != 0) throw new IllegalArgumentException("first line " + line0 + " is not a multiple of the panel width " + width);
        }

        public Prepacked(PanelStorage s) { this(s.data(), s.base(), s.cols(), s.width(), 0, 0); }

        @Override
        public int panel(int w, int line, int count, int p0, int kc, float[] buf, int bufOff) {
            if (w != width || line % w != 0) throw new IllegalStateException("panels of " + width + " read as panels of " + w);
            return base + ((line0 + line) / w) * cols * w + (depth0 + p0) * w;
        }

        @Override public float[] array(float[] buf) { return data; }
    }

    /**
     * The columns of the im2col matrix of one image, never built: column j = output pixel
     * (oy, ox), depth p = (ci, ky, kx), value x[ci, oy·stride − pad + ky, ox·stride − pad + kx]
     * (0 outside the image). Panels are packed straight from the image.
     */
    static GemmOperand im2col(float[] x, int xOff, int h, int wd, int kh, int kw, int stride, int pad, int wo) {
        return new GemmOperand() {
            @Override
            public int panel(int w, int line, int count, int p0, int kc, float[] buf, int bufOff) {
                int khw = kh * kw;
                if (stride == 1 && line % wo + count <= wo) return oneRow(line / wo, line % wo, count, w, p0, kc, buf, bufOff);
                for (int p = 0; p < kc; p++) {
                    int q = p0 + p, ci = q / khw, r = q % khw, ky = r / kw, kx = r % kw;
                    int d = bufOff + p * w;
                    int plane = xOff + ci * h * wd;
                    // the panel's pixels, row of output by row of output
                    int l = 0;
                    while (l < count) {
                        int j = line + l, oy = j / wo, ox = j % wo;
                        int run = Math.min(count - l, wo - ox);
                        int iy = oy * stride - pad + ky;
                        if (iy < 0 || iy >= h) {
                            Arrays.fill(buf, d + l, d + l + run, 0f);
                        } else {
                            int row = plane + iy * wd;
                            if (stride == 1) {
                                clippedRun(x, row, ox - pad + kx, wd, buf, d + l, run);
                            } else {
                                for (int t = 0; t < run; t++) {
                                    int ix = (ox + t) * stride - pad + kx;
                                    buf[d + l + t] = (ix < 0 || ix >= wd) ? 0f : x[row + ix];
                                }
                            }
                        }
                        l += run;
                    }
                    if (count < w) Arrays.fill(buf, d + count, d + w, 0f);
                }
                return bufOff;
            }

            /**
             * The common case, a stride-1 panel whose pixels lie in one output row: per depth step one
             * run of input pixels, one copy when it lies inside the image, with (ci, ky, kx) stepped
             * instead of divided (four integer divisions per tap cost more than the copy).
             */
            private int oneRow(int oy, int ox, int count, int w, int p0, int kc, float[] buf, int bufOff) {
                int khw = kh * kw, ci = p0 / khw, r = p0 % khw, ky = r / kw, kx = r % kw;
                for (int p = 0; p < kc; p++) {
                    int d = bufOff + p * w, iy = oy - pad + ky, ix0 = ox - pad + kx;
                    if (iy < 0 || iy >= h) {
                        Arrays.fill(buf, d, d + w, 0f);
                    } else {
                        int row = xOff + (ci * h + iy) * wd;
                        if (ix0 >= 0 && ix0 + count <= wd) System.arraycopy(x, row + ix0, buf, d, count);
                        else clippedRun(x, row, ix0, wd, buf, d, count);
                        if (count < w) Arrays.fill(buf, d + count, d + w, 0f);
                    }
                    if (++kx == kw) {
                        kx = 0;
                        if (++ky == kh) {
                            ky = 0;
                            ci++;
                        }
                    }
                }
                return bufOff;
            }
        };
    }

    /**
     * buf[d, d+run) = image row {@code row} from column ix0 on at stride 1, 0 outside [0, wd):
     * [0, lo) left of the image, [lo, hi) inside, [hi, run) right of it.
     */
    private static void clippedRun(float[] x, int row, int ix0, int wd, float[] buf, int d, int run) {
        int lo = Math.min(run, Math.max(0, -ix0)), hi = Math.max(lo, Math.min(run, wd - ix0));
        Arrays.fill(buf, d, d + lo, 0f);
        if (hi > lo) System.arraycopy(x, row + ix0 + lo, buf, d + lo, hi - lo);
        Arrays.fill(buf, d + hi, d + run, 0f);
    }
}
