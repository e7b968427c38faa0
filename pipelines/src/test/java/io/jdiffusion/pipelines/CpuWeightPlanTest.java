package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.TensorInfo;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.ModelFiles;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On the CPU, the text encoders' weights are read in place when the F32 weight cache cannot hold
 * them beside the UNet and VAE ({@link CpuWeightPlan}): converted at load, they took the UNet's
 * budget and 3.3 GB of heap through every step, and the CLI's full-size txt2img ran out of heap.
 */
class CpuWeightPlanTest {
    private static final String BUDGET = "jdiffusion.cpu.weightCacheMiB";

    @Test
    void fullSizeSdxlOnTheLaunchersHeapKeepsTheTextEncodersInPlace() {
        long text = 3_270_881_280L, unet = 10_269_854_736L, vae = 334_615_452L; // SDXL base as F32 (both text encoders)
        long heap = 18_080L << 20, budget = heap / 4 * 3; // the launcher's heap on a 24 GB machine (75 %), the cache's default share of it
        assertTrue(text + unet + vae <= budget, "all three fit the budget itself: that was the trap (no room left for activations)");
        assertFalse(CpuWeightPlan.cacheText(text, unet, vae, budget), "13.2 GiB cannot hold 13.9 GB of weights and 2 GiB for activations");
        assertTrue(CpuWeightPlan.cacheText(text, unet, vae, 16L << 30), "a budget that holds all three and the room keeps the text encoders converted");
    }

    @Test
    void textEncodersStayInPlaceWhenOnlyTheUnetAndVaeFitAndGiveTheSameImage() {
        Path base = Fixtures.path("sdxl-base");
        List<Path> textDirs = List.of(base.resolve("text_encoder"), base.resolve("text_encoder_2"));
        long text = CpuWeightPlan.folderF32Bytes(textDirs, ModelFiles.TRANSFORMERS);
        long unet = CpuWeightPlan.folderF32Bytes(List.of(base.resolve("unet")), ModelFiles.DIFFUSERS);
        long vae = CpuWeightPlan.folderF32Bytes(List.of(base.resolve("vae")), ModelFiles.DIFFUSERS);
        // the sizes, from the files' own layout: data bytes widened from each tensor's dtype to 4 bytes
        assertEquals(f32BytesOfFile(base.resolve("text_encoder/model.safetensors")) + f32BytesOfFile(base.resolve("text_encoder_2/model.safetensors")), text);
        assertEquals(f32BytesOfFile(base.resolve("unet/diffusion_pytorch_model.safetensors")), unet);
        assertEquals(f32BytesOfFile(base.resolve("vae/diffusion_pytorch_model.safetensors")), vae);

        long budgetMiB = (unet + vae + (1 << 20) - 1) >> 20; // the UNet and VAE fit, the text encoders do not besides
        assertTrue((budgetMiB << 20) < text + unet + vae, "the test's budget must leave the text encoders out");
        long roomyMiB = (text + unet + vae + CpuWeightPlan.ACTIVATION_ROOM >> 20) + 1;
        byte[] cached = generate(base, Long.toString(roomyMiB), false);
        byte[] inPlace = generate(base, Long.toString(budgetMiB), true);
        assertArrayEquals(cached, inPlace, "text encoders read in place compute the same picture as converted ones");
    }

    @Test
    void theBaseUnetIsUnloadedBeforeTheRefinerWhenBothDoNotFitTheCache() {
        byte[] kept = refined("4096", false);   // both UNets fit beside 2 GiB of room: nothing unloads
        byte[] released = refined("64", true);  // they do not: the base's UNet goes before the refiner runs
        assertArrayEquals(kept, released, "unloading the base's UNet does not change the picture");
    }

    private static byte[] refined(String budgetMiB, boolean expectUnload) {
        String before = System.getProperty(BUDGET);
        System.setProperty(BUDGET, budgetMiB);
        try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, CpuBackend.INSTANCE);
             SdxlModel refiner = SdxlModel.load(Fixtures.path("sdxl-refiner").toString(), null, CpuBackend.INSTANCE)) {
            byte[] png = Text2ImagePipeline.of(base).refiner(refiner).highNoiseFraction(0.5).prompt("a red vase").steps(4).seed(5).run().images().get(0).data();
            List<String> unloads = base.deviceBudget().events().stream().filter(e -> e.kind().equals("unload")).map(e -> e.component()).toList();
            assertEquals(expectUnload ? List.of(base.name() + " UNet") : List.of(), unloads, "unloads under a cache of " + budgetMiB + " MiB");
            return png;
        } finally {
            if (before == null) System.clearProperty(BUDGET);
            else System.setProperty(BUDGET, before);
        }
    }

    private static byte[] generate(Path base, String budgetMiB, boolean expectInPlace) {
        String before = System.getProperty(BUDGET);
        System.setProperty(BUDGET, budgetMiB);
        try (SdxlModel m = SdxlModel.load(base.toString(), null, CpuBackend.INSTANCE)) {
            assertEquals(expectInPlace, m.textWeightsInPlace(), "text encoders in place under a budget of " + budgetMiB + " MiB");
            return Text2ImagePipeline.of(m).prompt("a red vase").negativePrompt("blurry").steps(2).seed(3).run().images().get(0).data();
        } finally {
            if (before == null) System.clearProperty(BUDGET);
            else System.setProperty(BUDGET, before);
        }
    }

    /** 4 bytes per element of every tensor in a safetensors file, counted from its header (the project's reader, not the WeightSource the plan uses). */
    private static long f32BytesOfFile(Path f) {
        try (SafetensorsFile file = SafetensorsFile.open(f)) {
            long bytes = 0;
            for (TensorInfo i : file.infos().values()) bytes += 4 * i.numel();
            return bytes;
        }
    }
}
