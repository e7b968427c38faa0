package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.weights.RandomWeights;
import io.jdiffusion.text.CLIPTextConfig;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.text.CLIPTextModelWithProjection;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The official full-size configs build (on meta tensors: no weights) into modules of the published
 * sizes, and a full-size UNet runs a forward pass on the CPU with random weights at a tiny latent
 * size (the lazy random weights cost no memory; the pass costs ≈ 2.6 G weight reads).
 */
class FullSizeSdxlTest {
    static long count(Map<String, int[]> shapes) {
        long n = 0;
        for (int[] s : shapes.values()) n += Shapes.numel(s);
        return n;
    }

    static long unetParams(Layout l) {
        UNet2DConditionConfig c = RandomSdxl.unetConfig(l);
        return count(RandomWeights.shapesOf("unet", p -> new UNet2DConditionModel(c, p)));
    }

    @Test
    void fullSizeModulesHaveThePublishedParameterCounts() {
        // diffusers: sum(p.numel() for p in unet.parameters()) of stable-diffusion-xl-base-1.0
        long base = unetParams(Layout.BASE);
        assertEquals(2_567_463_684L, base);
        // inpainting 0.1: the same UNet with 9 input channels, so conv_in has 5·320·3·3 more weights
        assertEquals(base + 5 * 320 * 3 * 3, unetParams(Layout.INPAINT));
        // refiner 1.0: docs/performance.md's 4.52 GB of fp16 weights
        assertEquals(4.52, unetParams(Layout.REFINER) * 2 / 1e9, 0.005);
        var vae = RandomSdxl.vaeConfig(Layout.BASE);
        assertEquals(83_653_863L, count(RandomWeights.shapesOf("vae", p -> new AutoencoderKL(vae, p))));
        CLIPTextConfig l = CLIPTextConfig.read(RandomSdxl.configs(Layout.BASE).resolve("text_encoder/config.json"));
        assertEquals(123_060_480L, count(RandomWeights.shapesOf("te", p -> new CLIPTextModel(l, p))));
        CLIPTextConfig g = CLIPTextConfig.read(RandomSdxl.configs(Layout.BASE).resolve("text_encoder_2/config.json"));
        assertEquals(694_659_840L, count(RandomWeights.shapesOf("te2", p -> new CLIPTextModelWithProjection(g, p))));
    }

    @Test
    void fullSizeBaseUNetRunsOnTheCpuWithRandomWeights() {
        // 4×4 latents (2×2 and 1×1 at the deeper levels) and a 1-token context: the CPU reference
        // GEMM is a plain loop, and 77 tokens through the 70 cross-attention K/V projections alone
        // would be 56 GFLOP. Every weight is still read once, so every shape is exercised.
        int side = 4, tokens = 1;
        long t0 = System.nanoTime();
        float[] eps = RandomSdxl.unetForward(CpuBackend.INSTANCE, Layout.BASE, 5, side, tokens, 1);
        System.out.printf("full-size base UNet, %dx%d latents, CPU: %.1f s%n", side, side, (System.nanoTime() - t0) / 1e9);
        assertEquals(RandomSdxl.unetConfig(Layout.BASE).outChannels() * side * side, eps.length);
        double sum = 0, sq = 0;
        for (float v : eps) {
            assertTrue(Float.isFinite(v), "finite output");
            sum += v;
            sq += v * v;
        }
        double n = eps.length, var = sq / n - (sum / n) * (sum / n);
        assertTrue(var > 1e-6, "the output varies: variance " + var);
    }

    @Test
    void randomFullSizeModelsOpenLikeCheckpoints() {
        try (SdxlModel base = SdxlModel.random(Layout.BASE, CpuBackend.INSTANCE, 1);
             SdxlModel refiner = SdxlModel.random(Layout.REFINER, CpuBackend.INSTANCE, 2)) {
            assertEquals(1024, base.defaultImageSize());
            assertTrue(refiner.requiresAestheticsScore() && !base.requiresAestheticsScore());
            assertEquals(java.util.Map.of("random", "sdxl-refiner-seed2"), refiner.weightHashes());
            assertEquals(4, base.unetConfig().inChannels());
            assertEquals(2560, refiner.unetConfig().projectionClassEmbeddingsInputDim());
            // the VAE builds from its 83.7 M lazy random parameters (no weight memory on the CPU)
            var vae = base.vae();
            assertEquals(8, vae.config().scaleFactor());
            assertEquals(vae, base.vae(), "loaded once");
            assertNotNull(base.scheduler(null));
        }
    }
}
