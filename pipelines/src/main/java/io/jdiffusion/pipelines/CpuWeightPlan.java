package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.WeightSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Which of a model's components get their weights widened to F32 once on the CPU backend (its
 * weight cache, bounded by a share of the heap) and which are read where they lie, widened on each
 * use. The UNet runs at every step (twice with CFG) and the VAE's weights are small; the text
 * encoders (3.3 GB as F32 for SDXL base, 2.8 GB for the refiner's) run once per picture. When all
 * of them do not fit the cache together, the text encoders stay in place: converted at load, they
 * took the budget the UNet needed, and held 3.3 GB of heap through every UNet step and the VAE
 * decode for nothing (the CLI's full-size txt2img ran out of heap at 512²).
 */
final class CpuWeightPlan {
    private CpuWeightPlan() {}

    /**
     * Heap the text encoders leave free besides the cache's own reserve before they are cached: a
     * 1024² VAE decode of SDXL holds about 3.1 GiB of activations at its peak (measured), more than
     * the reserve of a 16–18 GB heap alone.
     */
    static final long ACTIVATION_ROOM = 2L << 30;

    /** Whether the text encoders ({@code textBytes} as F32) are worth caching beside the UNet and VAE, under {@code budgetBytes}. */
    static boolean cacheText(long textBytes, long unetBytes, long vaeBytes, long budgetBytes) {
        return textBytes + unetBytes + vaeBytes + ACTIVATION_ROOM <= budgetBytes;
    }

    /** Whether a second UNet ({@code nextUnetBytes}, with its VAE) fits the cache beside the first one and room for activations. */
    static boolean cacheBoth(long unetBytes, long nextUnetBytes, long vaeBytes, long budgetBytes) {
        return unetBytes + nextUnetBytes + vaeBytes + ACTIVATION_ROOM <= budgetBytes;
    }

    /** F32 bytes of a model's text encoders (both), UNet and VAE. */
    record Sizes(long text, long unet, long vae) {}

    /** Bytes the weights of {@code w} take as F32 (read from the header: nothing is loaded). */
    static long f32Bytes(WeightSource w) {
        long n = 0;
        for (String k : w.keys()) {
            long e = 1;
            for (int d : w.shape(k)) e *= d;
            n += e;
        }
        return 4 * n;
    }

    /** F32 bytes of the weights in the diffusers/transformers component folders {@code dirs} (missing folders count 0). */
    static long folderF32Bytes(List<Path> dirs, String baseName) {
        long n = 0;
        for (Path d : dirs) {
            if (!Files.isDirectory(d)) continue;
            try (WeightSource w = ModelFiles.find(d, baseName, null).open()) {
                n += f32Bytes(w);
            }
        }
        return n;
    }
}
