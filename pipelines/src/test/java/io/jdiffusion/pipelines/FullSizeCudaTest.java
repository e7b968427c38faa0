package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.cuda.CudaBackend;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
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
    static final long SEED = 11, INPUTS = 2;
    static final int SIDE = 16, TOKENS = 77;
    static float[] reference;

    /** Skips the calling test without CUDA; computes the CPU reference once. */
    static synchronized void cpuReference() {
        Backends.CudaAvailability cuda = Backends.cudaAvailability();
        assumeTrue(cuda.available(), "full-size CUDA check skipped: CUDA is not usable here (" + cuda.reason() + ")");
        if (reference != null) return;
        long t0 = System.nanoTime();
        reference = RandomSdxl.unetForward(CpuBackend.INSTANCE, Layout.BASE, SEED, SIDE, TOKENS, INPUTS);
        System.out.printf("CPU reference: %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }

    static void compare(DType dtype, double bound) {
        cpuReference();
        try (CudaBackend be = CudaBackend.create(Backends.cudaDevice(), dtype, 0)) {
            long t0 = System.nanoTime();
            float[] got = RandomSdxl.unetForward(be, Layout.BASE, SEED, SIDE, TOKENS, INPUTS);
            assertEquals(reference.length, got.length);
            RandomSdxl.Error e = RandomSdxl.Error.of(reference, got);
            System.out.printf("full-size base UNet %s on %s: %s, bound %.0e, %.1f s; %s%n",
                    dtype, be.info().name(), e, bound, (System.nanoTime() - t0) / 1e9, be.memoryStats());
            assertTrue(e.relative() <= bound, dtype + ": " + e + " over the bound " + bound);
        }
    }

    @Test
    void f32MatchesTheCpuTo1e3() { compare(DType.F32, 1e-3); }

    @Test
    void f16MatchesTheCpuTo2e2() { compare(DType.F16, 2e-2); }
}
