package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.FileTrees;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.ShardedCopy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every component finds its weights through the one locator (ModelFiles): diffusers' variant file
 * names and shard indexes ({@code X.safetensors.index.fp16.json}) give the same image as the plain
 * files, and PyTorch pickles are refused, before anything loads, with a pointer to safetensors.
 */
class WeightFilesTest {

    @Test
    void variantsAndShardsInEveryComponentGiveTheSameImage(@TempDir Path tmp) throws IOException {
        Path plain = Fixtures.path("sdxl-base");
        Path model = copy(plain, tmp.resolve("base"));
        shard(model.resolve("unet"), "diffusion_pytorch_model", "fp16", 3);      // diffusion_pytorch_model.safetensors.index.fp16.json
        shard(model.resolve("text_encoder_2"), "model", null, 2);               // model.safetensors.index.json
        Files.move(model.resolve("vae/diffusion_pytorch_model.safetensors"), model.resolve("vae/diffusion_pytorch_model.fp16.safetensors"));
        Files.move(model.resolve("text_encoder/model.safetensors"), model.resolve("text_encoder/model.fp16.safetensors"));
        assertTrue(Files.isRegularFile(model.resolve("unet/diffusion_pytorch_model.safetensors.index.fp16.json")));

        try (SdxlModel a = SdxlModel.load(plain.toString(), null, CpuBackend.INSTANCE);
             SdxlModel b = SdxlModel.load(model.toString(), null, CpuBackend.INSTANCE)) {
            byte[] expected = Text2ImagePipeline.of(a).prompt("a red vase").steps(2).seed(3).run().images().get(0).data();
            byte[] got = Text2ImagePipeline.of(b).prompt("a red vase").steps(2).seed(3).run().images().get(0).data();
            assertArrayEquals(expected, got, "variant and sharded weight files load the same model");
        }
    }

    @Test
    void picklesAreRefusedBeforeLoadingWithAPointerToSafetensors(@TempDir Path tmp) throws IOException {
        Path model = copy(Fixtures.path("sdxl-base"), tmp.resolve("base"));
        Files.move(model.resolve("unet/diffusion_pytorch_model.safetensors"), model.resolve("unet/diffusion_pytorch_model.bin"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SdxlModel.load(model.toString(), null, CpuBackend.INSTANCE));
        for (String part : new String[] {"unet", "diffusion_pytorch_model.bin", "safetensors", "safe_serialization=True"}) {
            assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' lacks '" + part + "'");
        }

        Path ckpt = Files.writeString(tmp.resolve("sd_xl_base_1.0.ckpt"), "not read");
        e = assertThrows(IllegalArgumentException.class, () -> SdxlModel.load(ckpt.toString(), null, CpuBackend.INSTANCE));
        assertTrue(e.getMessage().contains("sd_xl_base_1.0.ckpt") && e.getMessage().contains("pickle")
                && e.getMessage().contains(".safetensors"), e.getMessage());
    }

    private static Path copy(Path from, Path to) throws IOException { return FileTrees.copy(from, to); }

    /** Replaces {@code <base>.safetensors} by shards and an index named as diffusers names them. */
    private static void shard(Path folder, String base, String variant, int shards) throws IOException {
        ShardedCopy.write(folder.resolve(base + ".safetensors"), folder, base, variant, shards);
        Files.delete(folder.resolve(base + ".safetensors"));
    }
}
