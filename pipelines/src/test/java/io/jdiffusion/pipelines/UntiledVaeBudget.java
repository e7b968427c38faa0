package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.vae.VaeConfig;

/**
 * Budget sizes for tests that compare a budgeted run with an unbudgeted one bit for bit: the VAE must
 * stay untiled (tiling changes the image, as diffusers' own tiling does), which the plan only
 * guarantees when the whole image's VAE activations fit beside the resident weights. How many bytes
 * that is depends on the fixture set's image size and VAE widths, so it is computed, not assumed.
 */
public final class UntiledVaeBudget {
    private UntiledVaeBudget() {}

    /** VAE activation bytes (on the CPU backend's compute type) for the fixture set's init image size. */
    public static long activationBytesAtInitImageSize() {
        Image init = ImageFiles.read(Fixtures.path("init.png"));
        VaeConfig cfg = VaeConfig.load(Fixtures.path("sdxl-base/vae"));
        int f = cfg.scaleFactor();
        return DeviceBudget.vaeActivationBytes(cfg, init.height() / f, init.width() / f,
                CpuBackend.INSTANCE.computeType().byteSize());
    }

    /**
     * What must fit for the VAE to stay untiled: its activations at the init image size plus its own
     * weights, counted at 4 bytes a value (the CPU backend widens F16/BF16 weights to F32 at load).
     */
    public static long untiledVaeBytesAtInitImageSize() {
        long weights = 0;
        try (var w = io.jdiffusion.tensor.weights.ModelFiles.find(Fixtures.path("sdxl-base/vae"),
                io.jdiffusion.tensor.weights.ModelFiles.DIFFUSERS, null).open()) {
            for (String k : w.keys()) {
                long n = 1;
                for (int d : w.shape(k)) n *= d;
                weights += 4 * n;
            }
        }
        return activationBytesAtInitImageSize() + weights;
    }
}
