package io.jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.Reproduction;
import io.jdiffusion.pipelines.image.ImageMetadata;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.SafetensorsWriter;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --vae FOLDER}: the run record names the folder and hashes its weights instead of the model's
 * own VAE, so {@code reproduce} decodes with it again (same bytes); {@code profile --vae} counts a
 * force_upcast-free VAE in the device dtype.
 */
class VaeOptionTest {
    @TempDir
    static Path tmp;

    /**
     * A VAE folder like sdxl-vae-fp16-fix made from the fixture model's: force_upcast off, weights stored
     * in F16, and the decoder's output bias moved by 0.25 so that its images differ visibly from the
     * model's own VAE.
     */
    static Path fixedVae() throws IOException {
        Path dir = tmp.resolve("vae-fp16-fix");
        if (Files.isDirectory(dir)) return dir;
        Path own = Fixtures.path("sdxl-base").resolve("vae");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"),
                Files.readString(own.resolve("config.json")).replaceAll("\"force_upcast\"\\s*:\\s*true", "\"force_upcast\": false"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(own.resolve("diffusion_pytorch_model.safetensors"))) {
            for (String name : f.names()) {
                Tensor t = f.tensor(name);
                if (name.equals("decoder.conv_out.bias")) {
                    float[] b = t.toFloatArray();
                    for (int i = 0; i < b.length; i++) b[i] += 0.25f;
                    w.add(name, DType.F16, b, t.shape());
                } else {
                    w.add(name, t, DType.F16);
                }
            }
            w.write(dir.resolve("diffusion_pytorch_model.safetensors")); // the tensors are read from the mapped file here
        }
        return dir;
    }

    static List<String> txt2img(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("txt2img", "--model", Fixtures.path("sdxl-base").toString(), "--prompt", "a red vase",
                "--steps", "2", "--seed", "5", "--quiet", "-o", out.toString(), "--runs", tmp.resolve("runs").toString()));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void theVaeFolderIsRecordedHashedAndReproduced() throws IOException {
        Path vae = fixedVae().toAbsolutePath().normalize(), plain = tmp.resolve("plain.png"), with = tmp.resolve("with.png");
        CommandLineTest.Result r0 = CommandLineTest.run(txt2img(plain).toArray(String[]::new));
        assertEquals(0, r0.status(), r0.err());
        CommandLineTest.Result r1 = CommandLineTest.run(txt2img(with, "--vae", vae.toString()).toArray(String[]::new));
        assertEquals(0, r1.status(), r1.err());
        assertFalse(Arrays.equals(Files.readAllBytes(plain), Files.readAllBytes(with)), "the other VAE changes the image");

        String weights = vae + "/diffusion_pytorch_model.safetensors";
        GenerationRecord rec = Reproduction.readRecord(with);
        assertEquals(vae.toString(), rec.models().get("vae"), "the record names the VAE folder");
        assertTrue(rec.weightHashes().containsKey("base/" + weights), "its weights are hashed: " + rec.weightHashes().keySet());
        assertFalse(rec.weightHashes().containsKey("base/vae/diffusion_pytorch_model.safetensors"),
                "the model's own VAE was not read, so it is not listed: " + rec.weightHashes().keySet());
        assertEquals(null, Reproduction.readRecord(plain).models().get("vae"), "a run without --vae names none");

        // the run store's record lists the same hash (taken again from the models the record names)
        String id = ImageMetadata.read(with).get(ImageMetadata.RUN_KEYWORD);
        Map<String, String> stored = RunStore.open(tmp.resolve("runs")).find(id).weightHashes();
        assertEquals(rec.weightHashes().get("base/" + weights), stored.get("base/" + weights), "run store hashes: " + stored);

        // reproduce decodes with the recorded VAE: the same bytes, from the PNG and from the run id
        Path again = tmp.resolve("again.png"), byId = tmp.resolve("by-id.png");
        CommandLineTest.Result r2 = CommandLineTest.run("reproduce", with.toString(), "-o", again.toString(), "--quiet");
        assertEquals(0, r2.status(), r2.err());
        assertArrayEquals(Files.readAllBytes(with), Files.readAllBytes(again), "reproduce uses the recorded --vae");
        CommandLineTest.Result r3 = CommandLineTest.run("reproduce", id, "--runs", tmp.resolve("runs").toString(), "-o", byId.toString(), "--quiet");
        assertEquals(0, r3.status(), r3.err());
        assertArrayEquals(Files.readAllBytes(with), Files.readAllBytes(byId), "reproduce RUN-ID uses the recorded --vae");
    }

    static JsonNode profile(String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("profile", "--model", Fixtures.path("sdxl-base").toString(), "--width", "64", "--height", "64",
                "--steps", "1", "--dtype", "f16", "--json"));
        a.addAll(List.of(extra));
        CommandLineTest.Result r = CommandLineTest.run(a.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        return new ObjectMapper().readTree(r.out());
    }

    static long vaeBytes(JsonNode profile) {
        long n = 0;
        for (var e : profile.path("weightBytesByComponent").properties()) if (e.getKey().endsWith("VAE")) n += e.getValue().asLong();
        return n;
    }

    @Test
    void profileCountsAnFp16FixVaeInTheDeviceDtype() throws IOException {
        Path vae = fixedVae();
        JsonNode own = profile(), fixed = profile("--vae", vae.toString());
        assertEquals(vae.toString(), fixed.path("vae").asText());
        assertTrue(own.path("vae").isNull(), "no --vae: " + own.path("vae"));
        // the fixture's VAE has force_upcast: F32 weights beside the F16 UNet; the fixed one's are F16
        assertTrue(vaeBytes(own) > 0, "VAE weights listed: " + own.path("weightBytesByComponent"));
        assertEquals(vaeBytes(own), 2 * vaeBytes(fixed), "F32 against F16 VAE weights");
        assertEquals(own.path("weightBytes").asLong() - vaeBytes(fixed), fixed.path("weightBytes").asLong());
    }

    @Test
    void profileRefusesAVaeThatDoesNotFitByName() throws IOException {
        Path vae16 = tmp.resolve("vae-16-channels");
        Files.createDirectories(vae16);
        Files.writeString(vae16.resolve("config.json"),
                Files.readString(fixedVae().resolve("config.json")).replaceAll("\"latent_channels\"\\s*:\\s*4", "\"latent_channels\": 16"));
        CommandLineTest.Result r = CommandLineTest.run("profile", "--model", Fixtures.path("sdxl-base").toString(), "--vae", vae16.toString(), "--json");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--vae") && r.err().contains("latent_channels 16"), r.err());
        assertEquals("", r.out(), "nothing printed on a refused --vae");
    }
}
