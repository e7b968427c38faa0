package io.jdiffusion.tensor.cpu;

import java.util.Arrays;

/**
 * Single-precision GEMM of the CPU backend: C[M, N] = A[M, K] · op(B), where op(B) is B[K, N] or,
 * when {@code bTransposed}, B[N, K]^T. Row-major, arbitrary offsets; C is overwritten.
 *
 * <p>The BLIS scheme: C is cut into independent {@link #MC}×{@link #NC} tiles spread over the
 * cores; per tile and per depth block of {@link #KC}, A is packed into MR-row panels (ap[p·MR + r])
 * and B into NR-column panels (bp[p·NR + j]), and a micro-kernel accumulates an MR×NR block of C
 * in registers over the whole depth block. Two micro-kernels:
 * <ul>
 *   <li>{@link VectorGemm}: 8 × (2 vectors) on the Vector API, 16 vector accumulators. Used when
 *       the JVM was started with {@code --add-modules jdk.incubator.vector} (the JVM then prints an
 *       incubator warning at start, so it is opt-in).</li>
 *   <li>{@link #SCALAR_KERNEL} (default): 4 × 4 float accumulators in scalar registers. C2 does not
 *       auto-vectorise GEMM usefully: the {@code c[j] += a * b[j]} row-update loops it does
 *       vectorise are bound by loads and stores of c and measured about half as fast as this
 *       (see docs/benchmarks.md).</li>
 * </ul>
 */
final class CpuGemm {
    private CpuGemm() {}

    /** Rows of C per parallel tile when A is packed per tile (its packed block stays in L2). */
    static final int MC = 128;
    /**
     * Rows of C per parallel tile when A is read in place ({@link GemmOperand.Prepacked}, a
     * convolution's weight): nothing of A is copied, and every B panel (packed from the image)
     * serves more rows, so the packing is spread over 4× the multiply-adds.
     */
    static final int MC_PREPACKED = 512;
    /** Columns of C per parallel tile. */
    static final int NC = 512;
    /**
     * Depth of one packed block of A and B. 512 rather than 256: fewer passes over C and fewer
     * packing calls per multiply-add; measured 8 % faster on the UNet's linear layers and 10 % on
     * its direct convolutions (docs/benchmarks.md, sixth session), although a B micro-panel
     * (KC × NR) then fills L1 and is read from L2.
     */
    static final int KC = 512;

    /** True when the Vector API is available in this JVM and not switched off with -Djdiffusion.vector=false. */
    static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
            && !"false".equals(System.getProperty("jdiffusion.vector"));

    static {
        // library users start their own JVM: tell them once how to get the fast kernel
        if (!VECTOR && !"false".equals(System.getProperty("jdiffusion.vector"))) {
            org.slf4j.LoggerFactory.getLogger(CpuGemm.class).info("CPU GEMM on the scalar kernel; start the JVM with "
                    + "--add-modules jdk.incubator.vector for the Vector API kernel (several times faster)");
        }
    }

    /** Which inner loops to use; tests run both. */
    enum Impl { AUTO, SCALAR, VECTOR }

    static void sgemm(int m, int n, int k,
                      float[] a, int aOff, float[] b, int bOff, boolean bTransposed,
                      float[] c, int cOff) {
        sgemm(m, n, k, a, aOff, k, b, bOff, bTransposed ? k : n, bTransposed, c, cOff, n, true, Impl.AUTO);
    }

    /**
     * The general form: A rows start {@code lda} apart, B rows (of [K, N], or of [N, K] when
     * transposed) {@code ldb} apart, C rows {@code ldc} apart; {@code parallel} false runs on the
     * calling thread (for callers that parallelise themselves).
     */
    static void sgemm(int m, int n, int k,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb, boolean bTransposed,
                      float[] c, int cOff, int ldc, boolean parallel, Impl impl) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("sgemm: negative size " + m + "x" + k + "x" + n);
        boolean vector = switch (impl) {
            case AUTO -> VECTOR;
            case SCALAR -> false;
            case VECTOR -> {
                if (!VECTOR) throw new IllegalStateException("the Vector API is not available (start the JVM with --add-modules jdk.incubator.vector)");
                yield true;
            }
        };
        GemmOperand ao = GemmOperand.lines(a, aOff, lda);
        GemmOperand bo = bTransposed ? GemmOperand.lines(b, bOff, ldb) : GemmOperand.depthRows(b, bOff, ldb);
        gemm(m, n, k, ao, bo, c, cOff, ldc, parallel, vector ? VectorGemm.KERNEL : SCALAR_KERNEL);
    }

    /** The kernel {@link Impl#AUTO} picks: the Vector API one when this JVM has it, else the scalar one. */
    static MicroKernel kernel() { return VECTOR ? VectorGemm.KERNEL : SCALAR_KERNEL; }

    /**
     * C[M, N] (rows ldc apart from cOff, overwritten) = A · op(B), both given as {@link GemmOperand}s
     * (A's lines are its rows, B's lines the columns of op(B)); prepacked operands must be packed
     * in panels of the kernel's MR (A) or NR (B).
     */
    static void gemm(int m, int n, int k, GemmOperand a, GemmOperand b, float[] c, int cOff, int ldc,
                     boolean parallel, MicroKernel kernel) {
        gemm(m, n, k, a, b, c, cOff, ldc, parallel, kernel, false);
    }

    /** As above; {@code accumulate} adds the product to C instead of overwriting it. */
    static void gemm(int m, int n, int k, GemmOperand a, GemmOperand b, float[] c, int cOff, int ldc,
                     boolean parallel, MicroKernel kernel, boolean accumulate) {
        gemm(m, n, k, a, new GemmOperand[] {b}, c, new int[] {cOff}, ldc, parallel, kernel, accumulate, null);
    }

    /**
     * What a finished block of C gets while it is still in cache: C[i0:i0+mc, j0:j0+nc] of product
     * {@code batch} after its last depth block (a bias, a residual), instead of another pass over C.
     */
    @FunctionalInterface
    interface Epilogue { void apply(int batch, int i0, int mc, int j0, int nc); }

    /**
     * Products that share A, C_b = A · B_b for each b (a convolution's images against its weight),
     * C_b's rows ldc apart from {@code cOffs[b]}: the tiles of all of them are one parallel range,
     * so the cores stay busy across the products. {@code epilogue} (may be null) runs on each
     * finished tile.
     */
    static void gemm(int m, int n, int k, GemmOperand a, GemmOperand[] bs, float[] c, int[] cOffs, int ldc,
                     boolean parallel, MicroKernel kernel, boolean accumulate, Epilogue epilogue) {
        if (m == 0 || n == 0) return;
        if (k == 0) {
            for (int bi = 0; bi < bs.length; bi++) {
                if (!accumulate) for (int i = 0; i < m; i++) Arrays.fill(c, cOffs[bi] + i * ldc, cOffs[bi] + i * ldc + n, 0f);
                if (epilogue != null) epilogue.apply(bi, 0, m, 0, n);
            }
            return;
        }
        // row tiles of equal height (a multiple of the kernel's MR), so no short last tile; the
        // columns are cut evenly only when there are few tiles (tileWidth)
        // every row tile packs its own B panels: B read in place from a file (text encoders over
        // 2 × 77 tokens) is widened once for all rows instead of once per 128
        int tm = ceilDiv(m, a instanceof GemmOperand.Prepacked || bs[0].costlyToPack() ? MC_PREPACKED : MC);
        int mc = roundUp(ceilDiv(m, tm), kernel.mr());
        tm = ceilDiv(m, mc);
        int nc = parallel ? tileWidth(tm * bs.length, n, kernel.nr()) : NC;
        int tn = ceilDiv(n, nc);
        int perProduct = tm * tn, tiles = perProduct * bs.length;
        // B wider than A is tall: run the row tiles of one column block one after another, so that
        // block of B (a weight's columns) is read from memory once and then from cache
        boolean columnsOuter = n > m;
        int mcTile = mc, ncTile = nc, rowTiles = tm, colTiles = tn;
        Parallel.IntBody tile = t -> {
            int bi = t / perProduct, r = t % perProduct;
            int ti = columnsOuter ? r % rowTiles : r / colTiles, tj = columnsOuter ? r / rowTiles : r % colTiles;
            int i0 = ti * mcTile, j0 = tj * ncTile, mt = Math.min(mcTile, m - i0), nt = Math.min(ncTile, n - j0);
            tile(kernel, i0, mt, j0, nt, k, a, bs[bi], c, cOffs[bi], ldc, accumulate);
            if (epilogue != null) epilogue.apply(bi, i0, mt, j0, nt);
        };
        if (parallel) {
            Parallel.forRange(tiles, (long) mc * nc * k, tile);
        } else {
            for (int t = 0; t < tiles; t++) tile.accept(t);
        }
    }

    private static int ceilDiv(int x, int d) { return (x + d - 1) / d; }

    private static int roundUp(int x, int d) { return ceilDiv(x, d) * d; }

    /**
     * Columns of C per parallel tile: {@link #NC}, or narrower (a multiple of the kernel's NR) when
     * C has few row tiles, so that there are at least {@link #TILES_PER_THREAD} tiles per thread and
     * no core idles at the end (a linear layer over 128 tokens with 1280 outputs is 3 tiles of NC
     * for 2 cores). Tiles only split the output, so the sums, and the results, are the same.
     */
    static int tileWidth(int rowTiles, int n, int nr) {
        int want = TILES_PER_THREAD * Parallel.THREADS;
        if (Parallel.THREADS == 1 || (long) rowTiles * ((n + NC - 1) / NC) >= want) return NC;
        int colTiles = (want + rowTiles - 1) / rowTiles;
        int w = (n + colTiles - 1) / colTiles;
        return Math.min(NC, Math.max(nr, (w + nr - 1) / nr * nr));
    }

    /** Parallel tiles per thread a product is cut into at least (when it is wide enough). */
    static final int TILES_PER_THREAD = 4;

    /** An MR×NR register-blocked kernel: c[0:MR, 0:NR] (row stride ldc) += A panel · B panel over kc. */
    interface MicroKernel {
        int mr();

        int nr();

        void run(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc);

        /** As {@link #run}, the block overwritten instead of added to: the first depth block of a tile needs no zeroed C. */
        default void store(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc) {
            for (int i = 0; i < mr(); i++) Arrays.fill(c, co + i * ldc, co + i * ldc + nr(), 0f);
            run(kc, ap, ao, bp, bo, c, co, ldc);
        }
    }

    /** Per-thread packing buffers, sized for the largest kernel (MR <= 64, NR <= 256), and panel offsets. */
    private record Buffers(float[] a, float[] b, float[] tile, int[] aPanels, int[] bPanels) {}

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(() -> new Buffers(
            new float[KC * (MC + 64)], new float[KC * (NC + 256)], new float[64 * 256], new int[MC_PREPACKED], new int[NC]));

    /** C[i0:i0+mc, j0:j0+nc] of the product, overwritten (or added to, when accumulating). */
    static void tile(MicroKernel kern, int i0, int mc, int j0, int nc, int k, GemmOperand a, GemmOperand b,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        int mrk = kern.mr(), nrk = kern.nr();
        Buffers buf = BUFFERS.get();
        float[] tmp = buf.tile, ap = a.array(buf.a), bp = b.array(buf.b);
        int[] aPanels = buf.aPanels, bPanels = buf.bPanels;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = Math.min(KC, k - p0);
            // the first depth block writes C, the others add to it: C is not zeroed first and read back
            boolean store = p0 == 0 && !accumulate;
            for (int jr = 0, q = 0; jr < nc; jr += nrk, q++) {
                bPanels[q] = b.panel(nrk, j0 + jr, Math.min(nrk, nc - jr), p0, kc, buf.b, jr * kc);
            }
            for (int ir = 0, q = 0; ir < mc; ir += mrk, q++) {
                aPanels[q] = a.panel(mrk, i0 + ir, Math.min(mrk, mc - ir), p0, kc, buf.a, ir * kc);
            }
            // B micro-panel outermost: it stays in L1 while the A panels stream from L2
            for (int jr = 0, jq = 0; jr < nc; jr += nrk, jq++) {
                int nr = Math.min(nrk, nc - jr), bo = bPanels[jq];
                for (int ir = 0, iq = 0; ir < mc; ir += mrk, iq++) {
                    int mr = Math.min(mrk, mc - ir);
                    int co = cOff + (i0 + ir) * ldc + j0 + jr;
                    if (mr == mrk && nr == nrk) {
                        if (store) kern.store(kc, ap, aPanels[iq], bp, bo, c, co, ldc);
                        else kern.run(kc, ap, aPanels[iq], bp, bo, c, co, ldc);
                    } else { // edge block: compute the full block into a scratch tile, write or add the valid part
                        kern.store(kc, ap, aPanels[iq], bp, bo, tmp, 0, nrk);
                        for (int r = 0; r < mr; r++) {
                            if (store) System.arraycopy(tmp, r * nrk, c, co + r * ldc, nr);
                            else for (int j = 0; j < nr; j++) c[co + r * ldc + j] += tmp[r * nrk + j];
                        }
                    }
                }
            }
        }
    }

    /**
     * 4×4 accumulators in scalar registers: per step of p, 4 loads of A and 4 of B feed 16
     * multiply-adds (C2 keeps all 24 values in registers).
     */
    static final MicroKernel SCALAR_KERNEL = new MicroKernel() {
        @Override public int mr() { return 4; }
        @Override public int nr() { return 4; }

        @Override
        public void run(int kc, float[] ap, int ao, float[] bp, int bo, float[] c, int co, int ldc) {
            float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0,
                  c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
            for (int p = 0; p < kc; p++) {
                int ai = ao + p * 4, bi = bo + p * 4;
                float a0 = ap[ai], a1 = ap[ai + 1], a2 = ap[ai + 2], a3 = ap[ai + 3];
                float b0 = bp[bi], b1 = bp[bi + 1], b2 = bp[bi + 2], b3 = bp[bi + 3];
                c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            }
            c[co] += c00; c[co + 1] += c01; c[co + 2] += c02; c[co + 3] += c03; co += ldc;
            c[co] += c10; c[co + 1] += c11; c[co + 2] += c12; c[co + 3] += c13; co += ldc;
            c[co] += c20; c[co + 1] += c21; c[co + 2] += c22; c[co + 3] += c23; co += ldc;
            c[co] += c30; c[co + 1] += c31; c[co + 2] += c32; c[co + 3] += c33;
        }
    };

}
