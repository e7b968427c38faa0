package io.jdiffusion.cli;

import io.jdiffusion.pipelines.DevicePrecision;
import io.jdiffusion.pipelines.checkpoint.BuiltinConfigs;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.meta.MetaBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.vae.VaeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --dtype} and {@code --vae}: rejected by name before any weight is read; the precision policy. */
class PrecisionOptionsTest {
    @TempDir
    static Path tmp;

    /** A copy of the fixture base model with corrupt UNet weights: an exit 2 proves nothing loaded. */
    static Path brokenBase() throws IOException {
        Path base = Fixtures.path("sdxl-base"), broken = tmp.resolve("broken-base");
        if (Files.isDirectory(broken)) return broken;
        try (Stream<Path> s = Files.walk(base)) {
            for (Path p : s.toList()) {
                Path t = broken.resolve(base.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        Files.write(broken.resolve("unet/diffusion_pytorch_model.safetensors"), new byte[100]);
        return broken;
    }

    static List<String> txt2img(Path model, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("txt2img", "--model", model.toString(), "--prompt", "a vase", "--steps", "2",
                "--quiet", "-o", out.toString(), "--runs", tmp.resolve("runs").toString()));
        a.addAll(List.of(extra));
        return a;
    }

    static void assertRejected(String option, String expected, List<String> args) {
        CommandLineTest.Result r = CommandLineTest.run(args.toArray(String[]::new));
        assertEquals(2, r.status(), "exit status for a bad " + option + "; stderr: " + r.err());
        assertTrue(r.err().contains(option) && r.err().contains(expected), "the message names " + option + ": " + r.err());
        assertTrue(!Files.exists(Path.of(args.get(args.indexOf("-o") + 1))), "no output file");
    }

    @Test
    void aBadDtypeOrVaeIsRejectedByNameBeforeWeightsAreRead() throws IOException {
        Path broken = brokenBase(), out = tmp.resolve("never.png");
        assertRejected("--dtype", "must be f16, bf16 or f32, got 'f8'", txt2img(broken, out, "--dtype", "f8"));
        // a VAE whose latents are not the UNet's
        Path vae16 = tmp.resolve("vae16");
        Files.createDirectories(vae16);
        String cfg = Files.readString(broken.resolve("vae/config.json")).replaceAll("\"latent_channels\"\\s*:\\s*4", "\"latent_channels\": 16");
        Files.writeString(vae16.resolve("config.json"), cfg);
        Files.write(vae16.resolve("diffusion_pytorch_model.safetensors"), new byte[100]);
        assertRejected("--vae", "latent_channels 16", txt2img(broken, out, "--vae", vae16.toString()));
        assertRejected("--vae", "has no config.json", txt2img(broken, out, "--vae", tmp.resolve("nothing-here").toString()));
    }

    @Test
    void theSdxlVaeRunsInF32BesideAnF16DeviceAndAFixedVaeInF16() {
        VaeConfig sdxl = VaeConfig.load(BuiltinConfigs.folder(Layout.BASE).resolve("vae/config.json"));
        assertTrue(sdxl.forceUpcast(), "the official SDXL VAE config asks for force_upcast");
        MetaBackend f16 = new MetaBackend(DType.F16);
        assertEquals(DType.F32, DevicePrecision.vaeBackend(f16, sdxl).computeType());
        assertEquals("fp16", DevicePrecision.preferredVariant(f16));
        assertNull(DevicePrecision.preferredVariant(new MetaBackend(DType.BF16)));
        // on the CPU everything is F32 already, weights read in place
        assertSame(CpuBackend.INSTANCE, DevicePrecision.vaeBackend(CpuBackend.INSTANCE, sdxl));
        assertNull(DevicePrecision.preferredVariant(CpuBackend.INSTANCE));
        assertTrue(DevicePrecision.describe(f16, sdxl).contains("VAE in f32 (force_upcast)"), DevicePrecision.describe(f16, sdxl));
    }
}
