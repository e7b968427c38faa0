package io.jdiffusion.pipelines.image;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class A1111ParametersTest {

    @Test
    void formatsLikeA1111CreateInfotext() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("Steps", 30);
        p.put("Sampler", "DPM++ 2M");
        p.put("CFG scale", 7.0);
        p.put("Seed", 42L);
        p.put("Size", "1024x1024");
        p.put("Clip skip", null);
        p.put("Model", "sd_xl_base_1.0");
        p.put("Denoising strength", 0.0001);
        p.put("Lora hashes", "a: 1, b: \"2\"");
        p.put("Hires upscale", 1.5f);
        p.put("Eta", 1e-5);
        assertEquals("a cat, sitting\nNegative prompt: blurry\n"
                + "Steps: 30, Sampler: DPM++ 2M, CFG scale: 7.0, Seed: 42, Size: 1024x1024, Model: sd_xl_base_1.0, "
                + "Denoising strength: 0.0001, Lora hashes: \"a: 1, b: \\\"2\\\"\", Hires upscale: 1.5, Eta: 1e-05",
                A1111Parameters.format("a cat, sitting", "blurry", p));
    }

    @Test
    void emptyNegativeIsOmittedAndBareKeysStayBare() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("Steps", 4);
        p.put("Tiling", "Tiling");
        assertEquals("prompt\nSteps: 4, Tiling", A1111Parameters.format("prompt", "", p));
        assertEquals("prompt\nSteps: 4, Tiling", A1111Parameters.format("prompt", null, p));
    }

    @Test
    void pythonFloatRepr() {
        assertEquals("7.5", A1111Parameters.pythonStr(7.5));
        assertEquals("1e+16", A1111Parameters.pythonStr(1e16));
        assertEquals("1234567890123456.0", A1111Parameters.pythonStr(1234567890123456.0));
        assertEquals("0.1", A1111Parameters.pythonStr(0.1));
        assertEquals("1.5e-07", A1111Parameters.pythonStr(1.5e-7));
        assertEquals("-0.0", A1111Parameters.pythonStr(-0.0));
        assertEquals("True", A1111Parameters.pythonStr(true));
        assertEquals("\"line\\nbreak\"", A1111Parameters.quote("line\nbreak"));
    }
}
