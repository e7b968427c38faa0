package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.cuda.CudaBackend;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The full-size SDXL base UNet (random weights, the same numbers on both backends) on CUDA against
 * the CPU reference backend, at 16×16 latents (levels of 16², 8², 4² tokens) with a 77-token
 * context, batch 1. Skips where CUDA cannot run.
 *
 * <p>Error measure: max |cuda − cpu| / max |cpu| over the output.
 * <ul>
 *   <li>F32: 1e-3. Both sum in F32, in different orders (blocked GEMM vs loops); over ~100
 *       sequential layers that differs by ~1e-5 relative, so 1e-3 leaves room only for real faults
 *       (and fails if a GEMM silently drops to TF32, whose 10-bit mantissa gives ~1e-3 per layer).</li>
 *   <li>F16 (activations stored as binary16, F32 accumulation): each stored activation is rounded by
 *       up to 2^-11 ≈ 4.9e-4 relative; about 100 roundings in sequence (normalisations rescale,
 *       residual adds accumulate) grow like a random walk to √100 · 4.9e-4 ≈ 5e-3; the bound is 2e-2,
 *       4× that, still far below what a wrong kernel gives (errors of order 1).</li>
 * </ul>
 */
class FullSizeCudaTest {
    static final long SEED = 11;
    static final int SIDE = 16, TOKENS = 77;
    static float[] sample, context, pooled, ids;
    static float[] reference;
    static UNet2DConditionConfig config;

    /** Skips the calling test without CUDA; computes the CPU reference once. */
    static synchronized void cpuReference() {
        Backends.CudaAvailability cuda = Backends.cudaAvailability();
        assumeTrue(cuda.available(), "full-size CUDA check skipped: CUDA is not usable here (" + cuda.reason() + ")");
        if (reference != null) return;
        config = RandomSdxl.unetConfig(Layout.BASE);
        Random r = new Random(2);
        sample = gauss(r, 4 * SIDE * SIDE);
        context = gauss(r, TOKENS * config.crossAttentionDim()[0]);
        pooled = gauss(r, 1280);
        ids = new float[] {1024, 1024, 0, 0, 1024, 1024};
        long t0 = System.nanoTime();
        reference = forward(CpuBackend.INSTANCE);
        System.out.printf("CPU reference: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    static float[] gauss(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    static float[] forward(Backend be) {
        UNet2DConditionModel unet = RandomSdxl.unet(Layout.BASE, be, SEED);
        try (Backend.Scope s = be.openScope()) {
            Tensor eps = unet.forward(be.fromFloats(sample, 1, 4, SIDE, SIDE), 500f,
                    be.fromFloats(context, 1, TOKENS, config.crossAttentionDim()[0]), be.fromFloats(pooled, 1, 1280),
                    be.fromFloats(ids, 1, 6));
            assertArrayEquals(new int[] {1, 4, SIDE, SIDE}, eps.shape());
            return eps.toFloatArray();
        }
    }

    static void compare(DType dtype, double bound) {
        cpuReference();
        try (CudaBackend be = CudaBackend.create(Backends.cudaDevice(), dtype, 0)) {
            long t0 = System.nanoTime();
            float[] got = forward(be);
            double maxRef = 0, maxDiff = 0;
            int at = 0;
            for (int i = 0; i < got.length; i++) {
                assertTrue(Float.isFinite(got[i]), dtype + ": element " + i + " is " + got[i]);
                maxRef = Math.max(maxRef, Math.abs(reference[i]));
                double d = Math.abs(got[i] - reference[i]);
                if (d > maxDiff) {
                    maxDiff = d;
                    at = i;
                }
            }
            double rel = maxDiff / maxRef;
            System.out.printf("full-size base UNet %s on %s: max |diff| %.3e at %d, max |ref| %.3e, relative %.3e (bound %.0e), %.1f s; %s%n",
                    dtype, be.info().name(), maxDiff, at, maxRef, rel, bound, (System.nanoTime() - t0) / 1e9, be.memoryStats());
            assertTrue(rel <= bound, dtype + ": relative error " + rel + " over " + bound + " (max |diff| " + maxDiff + " at " + at + ")");
        }
    }

    @Test
    void f32MatchesTheCpuTo1e3() { compare(DType.F32, 1e-3); }

    @Test
    void f16MatchesTheCpuTo2e2() { compare(DType.F16, 2e-2); }
}
