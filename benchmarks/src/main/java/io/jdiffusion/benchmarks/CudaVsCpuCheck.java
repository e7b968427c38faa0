package io.jdiffusion.benchmarks;

import io.jdiffusion.pipelines.RandomSdxl;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.cpu.CpuBackend;

/**
 * The full-size base UNet with random weights on CUDA (F32, F16) against the CPU reference, the
 * check of pipelines' FullSizeCudaTest without JUnit, for the benchmark bundle. Prints the relative
 * errors; exits 1 when one is over its bound (F32 1e-3, F16 2e-2), 2 without CUDA.
 * Args: [latent side, default 16].
 */
public final class CudaVsCpuCheck {
    public static void main(String[] args) {
        int side = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        Backends.CudaAvailability cuda = Backends.cudaAvailability();
        if (!cuda.available()) {
            System.out.println("CUDA not usable: " + cuda.reason());
            System.exit(2);
        }
        long t0 = System.nanoTime();
        float[] ref = RandomSdxl.unetForward(CpuBackend.INSTANCE, Layout.BASE, 11, side, 77, 2);
        System.out.printf("CPU reference, full-size base UNet at %d² latents: %.1f s%n", side, (System.nanoTime() - t0) / 1e9);
        boolean ok = true;
        for (String dt : new String[] {"cuda-f32", "cuda-f16"}) {
            double bound = dt.equals("cuda-f32") ? 1e-3 : 2e-2;
            try (Backend be = Backends.named(dt)) {
                long t1 = System.nanoTime();
                RandomSdxl.Error e = RandomSdxl.Error.of(ref, RandomSdxl.unetForward(be, Layout.BASE, 11, side, 77, 2));
                boolean pass = e.relative() <= bound;
                ok &= pass;
                System.out.printf("%s %s: %s, bound %.0e, %.1f s, %s%n", pass ? "PASS" : "FAIL", dt, e, bound,
                        (System.nanoTime() - t1) / 1e9, FullSize.memory(be));
            } catch (RuntimeException ex) {
                ok = false;
                System.out.println("FAIL " + dt + ": " + ex);
                ex.printStackTrace(System.out);
            }
        }
        System.exit(ok ? 0 : 1);
    }
}
