package io.jdiffusion.cli;

import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.SafetensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static io.jdiffusion.cli.HostileCli.expect;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Defect 6 of issue 16: weight files listing thousands of unexpected tensors (the message listed
 * every one), tensor names with terminal escapes or line breaks (printed raw), and non-finite
 * values in the UNet output (a black image with exit status 0).
 */
class HostileWeightsTest {
    @TempDir
    Path tmp;

    /** The fixture base with its UNet file rewritten: every tensor, plus {@code extra} names of one float each. */
    private Path withExtraTensors(String name, int extra, String nameStem) throws IOException {
        Path model = HostileCli.copyModel(tmp.resolve(name));
        Path unet = model.resolve("unet/diffusion_pytorch_model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(HostileCli.base().resolve("unet/diffusion_pytorch_model.safetensors"))) {
            for (String n : f.names()) w.add(n, f.tensor(n));
            for (int i = 0; i < extra; i++) w.addF32(nameStem + i, new float[] {0f}, 1);
            w.write(unet);
        }
        return model;
    }

    @Test
    void thousandsOfUnexpectedKeysGiveAShortMessage() throws IOException {
        Path model = withExtraTensors("many-keys", 5000, "junk.");
        Path out = tmp.resolve("never.png");
        CommandLineTest.Result r = expect(1, "and ", HostileCli.txt2img(model, out).toArray(String[]::new));
        assertTrue(r.err().contains("more"), r.err());
        assertTrue(r.err().lines().count() < 40, "at most 20 keys listed, then \"and N more\": " + r.err().lines().count() + " lines");
        assertTrue(r.err().length() < 20_000, "short: " + r.err().length() + " characters");
        assertFalse(Files.exists(out));
    }

    @Test
    void controlCharactersInTensorNamesAreEscaped() throws IOException {
        Path model = withExtraTensors("escapes", 3, "\u001b[2J\u001b[31mred\rforged line\nnext.");
        CommandLineTest.Result r = expect(1, "\\u001b[2J", HostileCli.txt2img(model, tmp.resolve("never.png")).toArray(String[]::new));
        assertFalse(r.err().contains("\nnext."), "a line break inside a name does not start a new line: " + r.err());
    }

    @Test
    void nanWeightsInTheVaeAbortTheRunInsteadOfWritingABlackImage() throws IOException {
        Path model = HostileCli.copyModel(tmp.resolve("nan-vae"));
        Path vae = model.resolve("vae/diffusion_pytorch_model.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(HostileCli.base().resolve("vae/diffusion_pytorch_model.safetensors"))) {
            for (String n : f.names()) {
                if (n.equals("decoder.conv_out.bias")) {
                    float[] nan = new float[f.floats(n).length];
                    java.util.Arrays.fill(nan, Float.NaN);
                    w.addF32(n, nan, f.info(n).shape());
                } else {
                    w.add(n, f.tensor(n));
                }
            }
            w.write(vae);
        }
        Path out = tmp.resolve("never.png");
        expect(1, "the VAE's decoded image is not finite", HostileCli.txt2img(model, out).toArray(String[]::new));
        assertFalse(Files.exists(out), "no black image written");
    }

    @Test
    void nonFiniteUNetOutputAbortsTheRunNamingTheStep() {
        Path out = tmp.resolve("never.png");
        CommandLineTest.Result r = expect(1, "not finite at step", HostileCli.txt2img(HostileCli.base(), out, "--guidance", "1e308")
                .toArray(String[]::new));
        assertTrue(r.err().contains("guidance"), "suggests the cause: " + r.err());
        assertFalse(Files.exists(out), "no output file");
    }
}
