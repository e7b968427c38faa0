package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.Reproduction;
import io.jdiffusion.pipelines.image.PngText;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --lora FILE[:SCALE] (repeatable), recorded with hash and scale, reproduced, shown as A1111 "Lora hashes"; bad values named. */
class LoraOptionTest {
    @TempDir
    Path tmp;

    List<String> txt2img(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("txt2img", "--model", Fixtures.path("sdxl-base").toString(), "--prompt", "a red vase",
                "--steps", "2", "--seed", "5", "--quiet", "-o", out.toString(), "--no-record"));
        a.addAll(List.of(extra));
        return a;
    }

    @Test
    void adaptersAreRecordedReproducedAndListedInTheParameters() throws IOException {
        Path lora = Fixtures.required("lora/reference.json").getParent();
        Path a = lora.resolve("a-peft.safetensors"), b = lora.resolve("b-kohya.safetensors");
        Path plain = tmp.resolve("plain.png"), with = tmp.resolve("with.png"), again = tmp.resolve("again.png");
        CommandLineTest.Result r0 = CommandLineTest.run(txt2img(plain).toArray(String[]::new));
        assertEquals(0, r0.status(), r0.err());
        CommandLineTest.Result r1 = CommandLineTest.run(txt2img(with, "--lora", a + ":0.8", "--lora", b.toString()).toArray(String[]::new));
        assertEquals(0, r1.status(), r1.err());
        assertFalse(Arrays.equals(Files.readAllBytes(plain), Files.readAllBytes(with)), "the adapters change the image");

        GenerationRecord rec = Reproduction.readRecord(with);
        assertEquals(2, rec.loras().size());
        assertEquals(0.8, rec.loras().get(0).scale());
        assertEquals(1.0, rec.loras().get(1).scale());
        assertEquals("base", rec.loras().get(0).role());
        assertEquals(64, rec.loras().get(0).sha256().length());
        String params = PngText.read(with).get("parameters");
        assertTrue(params.contains("Lora hashes: \"a-peft: " + rec.loras().get(0).sha256().substring(0, 12) + ", b-kohya: "
                + rec.loras().get(1).sha256().substring(0, 12) + "\""), params);

        Object shown = ((java.util.Map<?, ?>) io.jdiffusion.runs.RunParams.of(rec).get("base")).get("lora");
        assertEquals("a-peft:0.8 (" + rec.loras().get(0).sha256().substring(0, 12) + "), b-kohya:1.0 ("
                + rec.loras().get(1).sha256().substring(0, 12) + ")", shown, "the compare page's parameters list the adapters");

        CommandLineTest.Result r2 = CommandLineTest.run("reproduce", with.toString(), "-o", again.toString(), "--quiet");
        assertEquals(0, r2.status(), r2.err());
        assertArrayEquals(Files.readAllBytes(with), Files.readAllBytes(again), "reproduce fuses the same adapters: same bytes");
    }

    @Test
    void badLoraValuesAreRejectedByName() throws IOException {
        Path never = tmp.resolve("never.png");
        CommandLineTest.Result r = CommandLineTest.run(txt2img(never, "--lora", tmp.resolve("nope.safetensors") + ":0.5").toArray(String[]::new));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--lora") && r.err().contains("does not exist"), r.err());
        Path file = Files.writeString(tmp.resolve("x.safetensors"), "");
        r = CommandLineTest.run(txt2img(never, "--lora", file + ":strong").toArray(String[]::new));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--lora") && r.err().contains("must be a number"), r.err());
        r = CommandLineTest.run(txt2img(never, "--refiner-lora", file.toString()).toArray(String[]::new));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--refiner-lora needs --refiner"), r.err());
        // the base model's adapter on the refiner: another model (no text_encoder, other widths), refused naming why
        Path a = Fixtures.required("lora/a-peft.safetensors");
        r = CommandLineTest.run(txt2img(never, "--refiner", Fixtures.path("sdxl-refiner").toString(), "--high-noise-fraction", "0.5",
                "--refiner-lora", a.toString(), "--lora-lenient").toArray(String[]::new));
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--refiner-lora") && r.err().contains("cannot adapt the model's"), r.err());
        assertFalse(Files.exists(never));
    }
}
