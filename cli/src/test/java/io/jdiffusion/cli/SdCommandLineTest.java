package io.jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.Reproduction;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.SdFixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * SD 1/2 models on the command line: txt2img, img2img and (9-channel) inpaint of every SD fixture
 * set run through {@code jdiffusion}, whose PNG must hold diffusers' fixture image (within the image
 * tolerance 1e-3 plus the PNG's rounding to 8 bits); the record names the family and {@code reproduce}
 * gives the same bytes; outpaint, --clip-skip and --vram give the library's image; SDXL-only options
 * are refused by name before any weight is read.
 */
class SdCommandLineTest {
    private static final Map<String, String> SHORT_NAMES = Map.of("PNDMScheduler", "pndm", "DDIMScheduler", "ddim",
            "EulerDiscreteScheduler", "euler", "EulerAncestralDiscreteScheduler", "euler_a");

    @TempDir
    static Path tmp;

    @TestFactory
    Stream<DynamicTest> cliMatchesDiffusers() {
        List<DynamicTest> tests = new ArrayList<>();
        for (SdFixtures.Set set : SdFixtures.sets()) {
            for (String c : List.of("pipe/txt2img", "pipe/txt2img_euler", "pipe/img2img", "pipe/inpaint9")) {
                tests.add(DynamicTest.dynamicTest(set + " " + c, () -> cliCase(set, c)));
            }
        }
        return tests.stream();
    }

    /** The command line of a fixture case, from what reference.json says it ran with. */
    private static List<String> command(SdFixtures.Set set, JsonNode c, Path out) {
        String pipeline = c.path("pipeline").asText();
        List<String> a = new ArrayList<>(List.of(switch (pipeline) {
            case "StableDiffusionPipeline" -> "txt2img";
            case "StableDiffusionImg2ImgPipeline" -> "img2img";
            default -> "inpaint";
        }, "--model", set.path("sd").toString(), "--prompt", c.path("prompt").asText(),
                "--steps", c.path("num_inference_steps").asText(), "--guidance", c.path("guidance_scale").asText(),
                "--seed", c.path("seed").asText(), "--scheduler", SHORT_NAMES.get(c.path("scheduler").asText()),
                "--quiet", "-o", out.toString(), "--runs", tmp.resolve("runs").toString()));
        if (c.hasNonNull("negative_prompt")) a.addAll(List.of("--negative-prompt", c.path("negative_prompt").asText()));
        if (c.has("height")) a.addAll(List.of("--width", c.path("width").asText(), "--height", c.path("height").asText()));
        if (c.has("image")) a.addAll(List.of("--image", set.path(c.path("image").asText()).toString()));
        if (c.has("mask_image")) a.addAll(List.of("--mask", set.path(c.path("mask_image").asText()).toString()));
        if (c.has("strength")) a.addAll(List.of("--strength", c.path("strength").asText()));
        if (!c.path("unet").asText().equals("sd/unet")) a.addAll(List.of("--unet", set.path(c.path("unet").asText()).toString()));
        return a;
    }

    private static void cliCase(SdFixtures.Set set, String name) throws IOException {
        Path out = tmp.resolve(set + "-" + name.replace('/', '-') + ".png");
        CommandLineTest.Result r = CommandLineTest.run(command(set, set.reference().path("cases").path(name), out).toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        Image png = ImageFiles.read(out);
        float[] want = set.floats(name + "/output");
        assertEquals(want.length, png.data().length, name + ": image size");
        double worst = 0;
        for (int i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((png.data()[i] & 0xff) - want[i] * 255.0));
        System.out.println(set + " " + name + ": CLI PNG vs diffusers, max |png - 255·x| = " + worst);
        // 8-bit rounding (0.5) plus the library's image tolerance, 1e-3 of the range
        assertTrue(worst <= 0.5 + 1e-3 * 255, set + " " + name + ": CLI PNG differs from diffusers' image by " + worst + " levels");

        GenerationRecord rec = Reproduction.readRecord(out);
        assertEquals(set.family().equals("sd15") ? "sd1" : "sd2", rec.family(), "the record names the family");
        Path again = tmp.resolve(set + "-" + name.replace('/', '-') + "-again.png");
        CommandLineTest.Result rr = CommandLineTest.run("reproduce", out.toString(), "-o", again.toString(), "--quiet",
                "--runs", tmp.resolve("runs").toString());
        assertEquals(0, rr.status(), rr.err());
        assertArrayEquals(Files.readAllBytes(out), Files.readAllBytes(again), name + ": reproduce gives the same bytes");
    }

    @Test
    void outpaintClipSkipAndVramGiveTheLibrarysImage() throws IOException {
        SdFixtures.Set set = SdFixtures.sets().get(0);
        Path init = set.path("init.png");
        Path a = tmp.resolve("outpaint.png");
        CommandLineTest.Result r = CommandLineTest.run("outpaint", "--model", set.path("sd").toString(), "--image", init.toString(),
                "--extend", "0,0,16,8", "--overlap", "4", "--dilate", "3x1", "--prompt", "a purple octopus", "--steps", "3", "--seed", "5",
                "--clip-skip", "1", "--quiet", "--no-record", "-o", a.toString());
        assertEquals(0, r.status(), r.err());
        Image in = ImageFiles.read(init);
        GenerationResult lib;
        try (SdModel m = SdModel.load(set.path("sd").toString(), Fixtures.backend())) {
            lib = SdPipeline.inpaint(m).image(in, init.toString()).outpaint(0, 0, 16, 8, 4).dilate(3, 1)
                    .prompt("a purple octopus").steps(3).seed(5).clipSkip(1).run();
        }
        Image png = ImageFiles.read(a);
        assertEquals(in.width() + 16, png.width());
        assertEquals(in.height() + 8, png.height());
        assertArrayEquals(lib.images().getFirst().data(), png.data(), "the CLI's outpaint is the library's");
        assertEquals("outpaint", Reproduction.readRecord(a).pipeline());
        assertEquals(1, Reproduction.readRecord(a).clipSkip());

        Path b = tmp.resolve("outpaint-vram.png");
        CommandLineTest.Result v = CommandLineTest.run("outpaint", "--model", set.path("sd").toString(), "--image", init.toString(),
                "--extend", "0,0,16,8", "--overlap", "4", "--dilate", "3x1", "--prompt", "a purple octopus", "--steps", "3", "--seed", "5",
                "--clip-skip", "1", "--no-record", "-o", b.toString(), "--vram", "64m"); // not --quiet: the peak is a note
        assertEquals(0, v.status(), v.err());
        assertArrayEquals(Files.readAllBytes(a), Files.readAllBytes(b), "the budget changes no byte");
        assertTrue(v.err().contains("device memory: peak") && v.err().contains("budget 64.0 MiB"), v.err());
    }

    /** A single file written from each set's folder: with --config the folder's PNG, reproduced from its record; --prediction-type checked by name. */
    @TestFactory
    Stream<DynamicTest> singleFileCheckpoints() {
        return SdFixtures.sets().stream().map(set -> DynamicTest.dynamicTest(set + " single file", () -> {
            io.jdiffusion.pipelines.checkpoint.Layout layout = set.family().equals("sd15")
                    ? io.jdiffusion.pipelines.checkpoint.Layout.SD1 : io.jdiffusion.pipelines.checkpoint.Layout.SD2;
            Path file = tmp.resolve(set + "-single.safetensors");
            io.jdiffusion.pipelines.checkpoint.SingleFileWriter.write(set.path("sd"), layout, file);
            Path fromFolder = tmp.resolve(set + "-folder.png"), fromFile = tmp.resolve(set + "-file.png"), again = tmp.resolve(set + "-file-again.png");
            List<String> common = List.of("txt2img", "--prompt", "a purple octopus", "--steps", "2", "--seed", "9", "--width", "48", "--height", "64",
                    "--quiet", "--no-record");
            CommandLineTest.Result a = CommandLineTest.run(Stream.concat(common.stream(),
                    Stream.of("--model", set.path("sd").toString(), "-o", fromFolder.toString())).toArray(String[]::new));
            assertEquals(0, a.status(), a.err());
            CommandLineTest.Result b = CommandLineTest.run(Stream.concat(common.stream(), Stream.of("--model", file.toString(),
                    "--config", set.path("sd").toString(), "-o", fromFile.toString())).toArray(String[]::new));
            assertEquals(0, b.status(), b.err());
            assertArrayEquals(ImageFiles.read(fromFolder).data(), ImageFiles.read(fromFile).data(), "the single file gives the folder's image");
            CommandLineTest.Result r = CommandLineTest.run("reproduce", fromFile.toString(), "-o", again.toString(), "--quiet");
            assertEquals(0, r.status(), r.err());
            assertArrayEquals(Files.readAllBytes(fromFile), Files.readAllBytes(again), "reproduce reads the file with the recorded configs");
            List<String> bad = new ArrayList<>(common);
            bad.addAll(List.of("--model", file.toString(), "--prediction-type", layout == io.jdiffusion.pipelines.checkpoint.Layout.SD1
                    ? "v_prediction" : "sample", "-o", tmp.resolve("never-" + set + ".png").toString()));
            CommandLineTest.assertRejected("--prediction-type", bad);
            List<String> folderWithType = new ArrayList<>(common);
            folderWithType.addAll(List.of("--model", set.path("sd").toString(), "--prediction-type", "epsilon", "-o", tmp.resolve("never2.png").toString()));
            CommandLineTest.assertRejected("--prediction-type", folderWithType);
        }));
    }

    /** A Hugging Face id resolves in the local hub cache (here ~/.cache/huggingface/hub under a temporary user.home) as SDXL ids do. */
    @Test
    void huggingFaceIdInTheLocalCache() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(System.getenv("HF_HUB_CACHE") == null && System.getenv("HF_HOME") == null,
                "HF_HUB_CACHE / HF_HOME set: the test would have to write into that cache");
        SdFixtures.Set set = SdFixtures.sets().getLast();
        Path home = tmp.resolve("home");
        Path repo = home.resolve(".cache/huggingface/hub/models--stabilityai--stable-diffusion-2-inpainting");
        try (Stream<Path> s = Files.walk(set.path("sd"))) {
            for (Path p : s.toList()) {
                Path t = repo.resolve("snapshots/0123abc").resolve(set.path("sd").relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), "0123abc");
        Path out = tmp.resolve("hf-id.png");
        String oldHome = System.getProperty("user.home");
        CommandLineTest.Result r;
        try {
            System.setProperty("user.home", home.toString());
            r = CommandLineTest.run("inpaint", "--model", "stabilityai/stable-diffusion-2-inpainting", "--unet", set.path("sd-inpaint/unet").toString(),
                    "--image", set.path("init.png").toString(), "--mask", set.path("mask.png").toString(), "--prompt", "a purple octopus",
                    "--steps", "2", "--quiet", "--no-record", "-o", out.toString());
        } finally {
            System.setProperty("user.home", oldHome);
        }
        assertEquals(0, r.status(), r.err());
        GenerationRecord rec = Reproduction.readRecord(out);
        assertEquals("stabilityai/stable-diffusion-2-inpainting", rec.models().get("base"), "the id is recorded as given");
        assertEquals(set.family().equals("sd15") ? "sd1" : "sd2", rec.family());
    }

    @Test
    void sweepRecordsTheFamilyAndEachRunReproduces() {
        SdFixtures.Set set = SdFixtures.sets().getLast();
        String family = set.family().equals("sd15") ? "sd1" : "sd2";
        String store = tmp.resolve("sweep-runs").toString();
        CommandLineTest.Result r = CommandLineTest.run("sweep", "--model", set.path("sd").toString(), "--image", set.path("init.png").toString(),
                "--mask", set.path("mask.png").toString(), "-p", "a purple octopus", "--steps", "2", "--seeds", "1,2", "--dilate", "off,3x1",
                "--quiet", "--runs", store, "--experiment", "sd-sweep");
        assertEquals(0, r.status(), r.err());
        List<String> ids = r.out().lines().map(l -> l.split("\\s+")[0]).toList();
        assertEquals(4, ids.size(), r.out());
        CommandLineTest.Result listed = CommandLineTest.run("runs", "list", "--runs", store, "--where", "model.family=" + family);
        assertEquals(0, listed.status(), listed.err());
        for (String id : ids) assertTrue(listed.out().contains(id), "--where model.family=" + family + " lists " + id + ": " + listed.out());
        CommandLineTest.Result none = CommandLineTest.run("runs", "list", "--runs", store, "--where", "model.family=sdxl");
        for (String id : ids) assertFalse(none.out().contains(id), none.out());
        CommandLineTest.Result again = CommandLineTest.run("reproduce", ids.getLast(), "--runs", store, "-o", tmp.resolve("sweep-again.png").toString(), "--quiet");
        assertEquals(0, again.status(), again.err());
        assertTrue(again.err().contains("identical to the stored output"), again.err());
        CommandLineTest.Result refused = CommandLineTest.run("sweep", "--model", set.path("sd").toString(), "--refiner", set.path("sd").toString(),
                "-p", "x", "--runs", store);
        assertEquals(2, refused.status(), refused.err());
        assertTrue(refused.err().contains("--refiner is an SDXL-only setting"), refused.err());
    }

    @Test
    void sdxlOnlyOptionsAreRefusedByNameBeforeAnyWeightLoads() throws IOException {
        SdFixtures.Set set = SdFixtures.sets().get(0);
        Path broken = tmp.resolve("broken-sd");
        try (Stream<Path> s = Files.walk(set.path("sd"))) {
            for (Path p : s.toList()) {
                Path t = broken.resolve(set.path("sd").relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        for (String c : List.of("unet", "text_encoder", "vae")) {   // any weight read would fail: exit 1, not 2
            Path w = broken.resolve(c + "/diffusion_pytorch_model.safetensors");
            if (!Files.exists(w)) w = broken.resolve(c + "/model.safetensors");
            Files.write(w, Arrays.copyOf(Files.readAllBytes(w), 100));
        }
        Path out = tmp.resolve("never.png");
        List<String> base = List.of("txt2img", "--model", broken.toString(), "--prompt", "x", "--steps", "2", "--quiet", "-o", out.toString(), "--no-record");
        Map<String, List<String>> cases = Map.of(
                "--refiner", List.of("--refiner", broken.toString(), "--high-noise-fraction", "0.8"),
                "--prompt-2", List.of("--prompt-2", "y"),
                "--negative-prompt-2", List.of("--negative-prompt-2", "y"),
                "--lora", List.of("--lora", tmp.resolve("a.safetensors").toString()),
                "--vae", List.of("--vae", broken.resolve("vae").toString()),
                "--scheduler", List.of("--scheduler", "heun9000"),
                "--clip-skip", List.of("--clip-skip", "-1"),
                "--width", List.of("--width", "100", "--height", "64"));
        for (var e : cases.entrySet()) {
            List<String> args = new ArrayList<>(base);
            args.addAll(e.getValue());
            CommandLineTest.assertRejected(e.getKey(), args);
        }
        CommandLineTest.Result r = CommandLineTest.run(Stream.concat(base.stream(), Stream.of("--prompt-2", "y")).toArray(String[]::new));
        assertTrue(r.err().contains("SDXL-only") && r.err().contains("refiner, aesthetic scores, original_size, prompt_2"), r.err());
        assertFalse(Files.exists(out));
    }
}
