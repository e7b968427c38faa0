package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Our {@code parameters} text read back by the rules of AUTOMATIC1111's
 * {@code modules/infotext_utils.parse_generation_parameters} (re-implemented below, line for line):
 * every field comes back, with A1111's sampler names, schedule type, model keys and refiner keys.
 */
class A1111RoundTripTest {
    // re_param_code and re_imagesize as in A1111
    private static final Pattern RE_PARAM = Pattern.compile("\\s*(\\w[\\w \\-/]+):\\s*(\"(?:\\\\.|[^\\\\\"])+\"|[^,]*)(?:,|$)");
    private static final Pattern RE_IMAGESIZE = Pattern.compile("^(\\d+)x(\\d+)$");

    /** parse_generation_parameters: prompt, negative prompt, key → value (sizes split into "-1"/"-2"), then its defaults. */
    static Map<String, String> parse(String x) throws Exception {
        Map<String, String> res = new LinkedHashMap<>();
        StringBuilder prompt = new StringBuilder(), negative = new StringBuilder();
        boolean doneWithPrompt = false;
        List<String> lines = new java.util.ArrayList<>(List.of(x.strip().split("\n", -1)));
        String lastline = lines.removeLast();
        if (RE_PARAM.matcher(lastline).results().count() < 3) {
            lines.add(lastline);
            lastline = "";
        }
        for (String l : lines) {
            String line = l.strip();
            if (line.startsWith("Negative prompt:")) {
                doneWithPrompt = true;
                line = line.substring(16).strip();
            }
            StringBuilder target = doneWithPrompt ? negative : prompt;
            target.append(target.isEmpty() ? "" : "\n").append(line);
        }
        res.put("Prompt", prompt.toString());
        res.put("Negative prompt", negative.toString());
        Matcher m = RE_PARAM.matcher(lastline);
        while (m.find()) {
            String k = m.group(1), v = m.group(2);
            if (!v.isEmpty() && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') v = new ObjectMapper().readValue(v, String.class); // unquote: json.loads
            Matcher size = RE_IMAGESIZE.matcher(v);
            if (size.matches()) {
                res.put(k + "-1", size.group(1));
                res.put(k + "-2", size.group(2));
            } else {
                res.put(k, v);
            }
        }
        res.putIfAbsent("Clip skip", "1"); // "Missing CLIP skip means it was set to 1 (the default)"
        res.putIfAbsent("Schedule type", "Automatic"); // A1111 ≥ 1.9 when the text has none
        return res;
    }

    /** A record read from its JSON form (so the test does not depend on the record's constructor). */
    private static GenerationRecord record(String scheduler, boolean refiner) throws Exception {
        Map<String, String> models = new LinkedHashMap<>();
        models.put("base", "/models/sd_xl_base_1.0.safetensors");
        if (refiner) models.put("refiner", "stabilityai/stable-diffusion-xl-refiner-1.0");
        Map<String, String> hashes = new LinkedHashMap<>();
        hashes.put("base/sd_xl_base_1.0.safetensors", "31e35c80fc4829d1");
        if (refiner) {
            hashes.put("refiner/unet/diffusion_pytorch_model.safetensors", "7440042bbdc8a24a");
            hashes.put("refiner/vae/diffusion_pytorch_model.safetensors", "aaaaaaaaaaaaaaaa");
        }
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("library", "jdiffusion");
        j.put("version", "1.2.3");
        j.put("pipeline", "inpaint");
        j.put("prompt", "a red vase, glazed: on a table");
        j.put("negativePrompt", "blurry, \"low\" quality");
        j.put("seed", -737);
        j.put("steps", 30);
        j.put("guidanceScale", 7.5);
        j.put("guidanceRescale", 0.0);
        j.put("scheduler", scheduler);
        j.put("strength", 0.99);
        if (refiner) j.put("highNoiseFraction", 0.8);
        j.put("width", 1024);
        j.put("height", 768);
        j.put("imagesPerPrompt", 1);
        j.put("maskDilateKernel", 15);
        j.put("maskDilateIterations", 2);
        j.put("maskBlur", 4);
        j.put("models", models);
        j.put("weightHashes", hashes);
        j.put("inputs", Map.of());
        j.put("backend", "cpu");
        return GenerationRecord.fromJson(new ObjectMapper().writeValueAsString(j));
    }

    @Test
    void everyFieldComesBackThroughA1111sParser() throws Exception {
        Map<String, String> p = parse(record("dpmpp_2m_karras", true).toParameters());
        // the Model hash is A1111's: the first 10 hex digits of the file's SHA-256
        Map<String, String> expected = pairs(
                "Prompt", "a red vase, glazed: on a table", "Negative prompt", "blurry, \"low\" quality",
                "Steps", "30", "Sampler", "DPM++ 2M", "Schedule type", "Karras", "CFG scale", "7.5", "Seed", "-737",
                "Size-1", "1024", "Size-2", "768", "Model", "sd_xl_base_1.0", "Model hash", "31e35c80fc",
                "Denoising strength", "0.99", "Refiner", "stable-diffusion-xl-refiner-1.0 [7440042bbd]",
                "Refiner switch at", "0.8", "Mask dilation", "15x15 kernel, 2 iterations", "Mask blur", "4",
                "Model base", "/models/sd_xl_base_1.0.safetensors", "Version", "jdiffusion 1.2.3");
        expected.forEach((key, value) -> assertEquals(value, p.get(key), key));
    }

    @Test
    void samplerNamesAndNoRefinerKeyWithoutARefiner() throws Exception {
        Map<String, String> expected = Map.of("euler", "Euler", "EulerDiscreteScheduler", "Euler", "euler_a", "Euler a",
                "EulerAncestralDiscreteScheduler", "Euler a", "ddim", "DDIM", "dpmpp_2m", "DPM++ 2M");
        for (var e : expected.entrySet()) {
            Map<String, String> p = parse(record(e.getKey(), false).toParameters());
            assertEquals(e.getValue(), p.get("Sampler"), e.getKey());
            assertEquals("Automatic", p.get("Schedule type"), e.getKey() + " has no Karras schedule");
            assertFalse(p.containsKey("Refiner") || p.containsKey("Refiner switch at"), "A1111 turns its refiner on when the key exists");
        }
    }

    /** key, value, key, value, … as a map in that order. */
    private static Map<String, String> pairs(String... kv) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }
}
