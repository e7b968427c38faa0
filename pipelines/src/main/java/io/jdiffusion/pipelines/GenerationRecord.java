package io.jdiffusion.pipelines;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import io.jdiffusion.pipelines.image.A1111Parameters;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Everything that made an output: written into every PNG (as JSON and as an A1111-style
 * "parameters" line) so that {@code reproduce} can regenerate it bit for bit.
 *
 * @param pipeline       "txt2img", "img2img", "inpaint" or "outpaint"
 * @param models         role ("base", "refiner") → model folder; "vae", "refiner-vae" → a VAE folder used instead of the model's (--vae)
 * @param weightHashes   weight file → SHA-256 (first 16 hex digits)
 * @param configs        role → the diffusers folder whose configs a single-file model was read with (when not the built-in ones)
 * @param unet           a UNet folder used instead of the base model's own (e.g. a 9-channel inpainting UNet), or null
 * @param inputs         role ("image", "mask") → the file and a hash of its pixels
 * @param loras          LoRA adapters fused into the models (file, SHA-256, scale), or null for none
 * @param denoisingStart, denoisingEnd, outputLatents  settings added later: absent (null) when not used,
 *                       so records without them read as before and existing outputs keep their bytes
 * @param extraSettings  every other setting of {@link GenerationSettings} that differs from its default,
 *                       by its path ("schedule.x" → value); null when there is none
 * @param family         the model family, "sd1" or "sd2" ({@link #FAMILY_SDXL} is left out: null, as in
 *                       every record written before SD 1/2 ran, means SDXL and keeps SDXL outputs' bytes)
 *
 * <p>The settings part of the record is {@link GenerationSettings}: {@link #of} flattens them into
 * the record and {@link #settings()} reads them back. The JSON keeps this flat form (field names and
 * order) so that every record written before still loads and the same run writes the same bytes.
 * A setting added to {@link GenerationSettings} needs no change here: it lands in
 * {@code extraSettings} when set, and is left out (so existing outputs keep their bytes) when not.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerationRecord(
        String library, String version, String pipeline,
        String prompt, String prompt2, String negativePrompt, String negativePrompt2,
        long seed, int steps, double guidanceScale, double guidanceRescale,
        String scheduler, Double strength, Double highNoiseFraction,
        int width, int height, int imagesPerPrompt,
        Integer maskDilateKernel, Integer maskDilateIterations, Integer maskBlur, Integer paddingMaskCrop,
        Outpaint outpaint,
        Map<String, String> models, Map<String, String> configs, String unet, Map<String, String> weightHashes, Map<String, InputFile> inputs,
        String backend, Integer clipSkip, Double aestheticScore, Double negativeAestheticScore,
        Double denoisingStart, Double denoisingEnd, Boolean outputLatents, List<LoraUse> loras,
        Map<String, Object> extraSettings, String family) {

    /** The settings with fields of their own above; every other one goes into {@code extraSettings}. */
    public static final java.util.Set<String> NAMED_SETTINGS = java.util.Set.of("prompts.prompt", "prompts.prompt2", "prompts.negativePrompt",
            "prompts.negativePrompt2", "guidance.scale", "guidance.rescale", "guidance.aestheticScore",
            "guidance.negativeAestheticScore", "guidance.clipSkip", "schedule.steps", "schedule.seed", "schedule.scheduler",
            "schedule.strength", "schedule.denoisingStart", "schedule.denoisingEnd", "size.width", "size.height",
            "size.imagesPerPrompt", "mask.dilateKernel", "mask.dilateIterations", "mask.blur", "mask.paddingMaskCrop",
            "mask.outpaint", "refiner.highNoiseFraction", "outputLatents");

    /** The family a record without one names: every record before SD 1/2 ran is an SDXL run's. */
    public static final String FAMILY_SDXL = "sdxl";

    /**
     * Where the models and inputs of a run came from: everything in a record that is not a setting;
     * {@code family} the model family ("sd1", "sd2"; null or "sdxl" for SDXL, which records leave out).
     */
    public record Provenance(Map<String, String> models, Map<String, String> configs, String unet, Map<String, String> weightHashes,
                             Map<String, InputFile> inputs, String backend, List<LoraUse> loras, String family) {
        /** An SDXL run's provenance. */
        public Provenance(Map<String, String> models, Map<String, String> configs, String unet, Map<String, String> weightHashes,
                          Map<String, InputFile> inputs, String backend, List<LoraUse> loras) {
            this(models, configs, unet, weightHashes, inputs, backend, loras, null);
        }
    }

    /**
     * The record of a run with these settings as the pipeline resolved them: {@code scheduler} the
     * name or the model's scheduler class, {@code width}/{@code height} the output size; the refiner's
     * fraction and the aesthetic scores only where they took part.
     */
    public static GenerationRecord of(String pipeline, GenerationSettings s, String scheduler, int width, int height,
                                      boolean refiner, boolean aestheticScores, Provenance from) {
        GenerationSettings.Prompts p = s.prompts();
        GenerationSettings.Guidance g = s.guidance();
        GenerationSettings.Schedule sc = s.schedule();
        GenerationSettings.Mask m = s.mask();
        return new GenerationRecord(LIBRARY, Version.VERSION, pipeline, joined(p.prompt()), joined(p.prompt2()), joined(p.negativePrompt()),
                joined(p.negativePrompt2()), sc.seed(), sc.steps(), g.scale(), g.rescale(), scheduler, sc.strength(),
                refiner ? s.refiner().highNoiseFraction() : null, width, height, s.size().imagesPerPrompt(),
                m.dilateKernel(), m.dilateIterations(), m.blur(), m.paddingMaskCrop(), m.outpaint(),
                from.models(), from.configs(), from.unet(), from.weightHashes(), from.inputs(), from.backend(), g.clipSkip(),
                aestheticScores ? g.aestheticScore() : null, aestheticScores ? g.negativeAestheticScore() : null,
                sc.denoisingStart(), sc.denoisingEnd(), s.outputLatents() ? Boolean.TRUE : null, from.loras(), extra(s),
                from.family() == null || from.family().equals(FAMILY_SDXL) ? null : from.family());
    }

    /** The settings without a field of their own that differ from their defaults, by path; null when none does. */
    private static Map<String, Object> extra(GenerationSettings s) {
        Map<String, Object> defaults = GenerationSettings.defaults(0, null).byPath();
        Map<String, Object> extra = new LinkedHashMap<>();
        s.byPath().forEach((path, v) -> {
            if (!NAMED_SETTINGS.contains(path) && !java.util.Objects.equals(v, defaults.get(path))) extra.put(path, v);
        });
        return extra.isEmpty() ? null : extra;
    }

    /** The model family the run used: {@link #family} as recorded, {@link #FAMILY_SDXL} when absent. */
    public String modelFamily() { return family == null ? FAMILY_SDXL : family; }

    /**
     * The settings this record was made with, ready for {@link SdxlPipeline#settings(GenerationSettings)}.
     * A scheduler recorded as the model's class name (no short name was given) reads back as null.
     */
    public GenerationSettings settings() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("prompts.prompt", split(prompt));
        v.put("prompts.prompt2", split(prompt2));
        v.put("prompts.negativePrompt", split(negativePrompt));
        v.put("prompts.negativePrompt2", split(negativePrompt2));
        v.put("guidance.rescale", guidanceRescale);
        if (aestheticScore != null) v.put("guidance.aestheticScore", aestheticScore);
        if (negativeAestheticScore != null) v.put("guidance.negativeAestheticScore", negativeAestheticScore);
        v.put("guidance.clipSkip", clipSkip);
        v.put("schedule.steps", steps);
        v.put("schedule.seed", seed);
        v.put("schedule.scheduler", scheduler != null && SchedulerNames.isName(scheduler) ? scheduler : null);
        v.put("schedule.denoisingStart", denoisingStart);
        v.put("schedule.denoisingEnd", denoisingEnd);
        v.put("size.width", width);
        v.put("size.height", height);
        v.put("size.imagesPerPrompt", imagesPerPrompt);
        v.put("mask.dilateKernel", maskDilateKernel);
        v.put("mask.dilateIterations", maskDilateIterations);
        v.put("mask.blur", maskBlur);
        v.put("mask.paddingMaskCrop", paddingMaskCrop);
        v.put("mask.outpaint", outpaint);
        v.put("refiner.highNoiseFraction", highNoiseFraction);
        v.put("outputLatents", Boolean.TRUE.equals(outputLatents));
        if (extraSettings != null) v.putAll(extraSettings);
        return GenerationSettings.defaults(guidanceScale, strength).with(v);
    }

    /**
     * A LoRA adapter of the run: the model it was fused into ("base" or "refiner"), its file, the file's
     * SHA-256, its scale, and whether unmatched tensors were skipped (--lora-lenient).
     */
    public record LoraUse(String role, String path, String sha256, double scale, boolean lenient) {
        /** A1111's name of an adapter: the file name without .safetensors. */
        public String name() {
            String f = java.nio.file.Path.of(path).getFileName().toString();
            return f.endsWith(".safetensors") ? f.substring(0, f.length() - ".safetensors".length()) : f;
        }
    }

    /** An input file: where it was read from and the SHA-256 of its decoded pixels (size, channels, samples). */
    public record InputFile(String path, String pixelSha256) {}

    /** Canvas extension of an outpainting run: pixels added on each side, overlap into the original. */
    public record Outpaint(int left, int top, int right, int bottom, int overlap) {
        public Outpaint {
            Limits.outpaint(left, top, right, bottom, overlap);
        }
    }

    public static final String LIBRARY = "jdiffusion";

    /** This record with other input files (e.g. the copies kept in a run store). */
    public GenerationRecord withInputs(Map<String, InputFile> newInputs) {
        return new GenerationRecord(library, version, pipeline, prompt, prompt2, negativePrompt, negativePrompt2, seed, steps,
                guidanceScale, guidanceRescale, scheduler, strength, highNoiseFraction, width, height, imagesPerPrompt,
                maskDilateKernel, maskDilateIterations, maskBlur, paddingMaskCrop, outpaint, models, configs, unet, weightHashes, newInputs,
                backend, clipSkip, aestheticScore, negativeAestheticScore, denoisingStart, denoisingEnd, outputLatents, loras, extraSettings, family);
    }

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static GenerationRecord fromJson(String json) {
        try {
            return JSON.readValue(json, GenerationRecord.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a jdiffusion generation record: " + e.getOriginalMessage());
        }
    }

    /** The A1111/ComfyUI-style "parameters" text: prompt, negative prompt, then "key: value" pairs. */
    public String toParameters() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("Steps", steps);
        A1111Infotext.sampler(scheduler, p); // A1111's sampler names, so its "PNG Info" reads them back
        p.put("CFG scale", guidanceScale);
        p.put("Seed", seed);
        p.put("Size", width + "x" + height);
        A1111Infotext.model(models, weightHashes, p);
        p.put("Denoising strength", strength);
        A1111Infotext.refiner(models, weightHashes, highNoiseFraction, p);
        p.put("CFG rescale", guidanceRescale > 0 ? guidanceRescale : null);
        p.put("Mask dilation", maskDilateKernel == null ? null
                : maskDilateKernel + "x" + maskDilateKernel + " kernel, " + maskDilateIterations + " iterations");
        p.put("Mask blur", maskBlur);
        p.put("Inpaint area padding", paddingMaskCrop);
        if (models != null) models.forEach((role, model) -> p.put("Model " + role, model));
        if (weightHashes != null && !weightHashes.isEmpty()) {
            p.put("Weight hashes", weightHashes.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .collect(Collectors.joining(" ")));
        }
        if (loras != null && !loras.isEmpty()) {
            // A1111's "Lora hashes": name: the first 12 hex digits of the file's SHA-256 (its AutoV2 short hash)
            p.put("Lora hashes", loras.stream().map(l -> l.name() + ": " + l.sha256().substring(0, 12)).collect(Collectors.joining(", ")));
        }
        p.put("Version", LIBRARY + " " + version);
        return A1111Parameters.format(prompt, negativePrompt, p);
    }

    static String joined(List<String> l) { return l == null ? null : String.join(" | ", l); }

    /** The prompts of a joined field (" | " separates a batch's prompts). */
    static List<String> split(String joined) { return joined == null ? null : List.of(joined.split(" \\| ", -1)); }
}
