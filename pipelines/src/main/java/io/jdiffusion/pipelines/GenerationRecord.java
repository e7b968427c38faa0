package io.jdiffusion.pipelines;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Everything that made an output: written into every PNG (as JSON and as an A1111-style
 * "parameters" line) so that {@code reproduce} can regenerate it bit for bit.
 *
 * @param pipeline       "txt2img", "img2img", "inpaint" or "outpaint"
 * @param models         role ("base", "refiner") → model folder
 * @param weightHashes   weight file → SHA-256 (first 16 hex digits)
 * @param unet           a UNet folder used instead of the base model's own (e.g. a 9-channel inpainting UNet), or null
 * @param inputs         role ("image", "mask") → the file and a hash of its pixels
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GenerationRecord(
        String library, String version, String pipeline,
        String prompt, String prompt2, String negativePrompt, String negativePrompt2,
        long seed, int steps, double guidanceScale, double guidanceRescale,
        String scheduler, Double strength, Double highNoiseFraction,
        int width, int height, int imagesPerPrompt,
        Integer maskDilateKernel, Integer maskDilateIterations, Integer maskBlur,
        Outpaint outpaint,
        Map<String, String> models, String unet, Map<String, String> weightHashes, Map<String, InputFile> inputs,
        String backend, Integer clipSkip, Double aestheticScore, Double negativeAestheticScore) {

    /** An input file: where it was read from and the SHA-256 of its decoded pixels (size, channels, samples). */
    public record InputFile(String path, String pixelSha256) {}

    /** Canvas extension of an outpainting run: pixels added on each side, overlap into the original. */
    public record Outpaint(int left, int top, int right, int bottom, int overlap) {}

    public static final String LIBRARY = "jdiffusion";

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

    /** The A1111/ComfyUI-style "parameters" text: prompt, negative prompt, then key: value pairs. */
    public String toParameters() {
        StringBuilder sb = new StringBuilder(prompt == null ? "" : prompt);
        if (negativePrompt != null && !negativePrompt.isEmpty()) sb.append("\nNegative prompt: ").append(negativePrompt);
        sb.append("\nSteps: ").append(steps)
                .append(", Sampler: ").append(scheduler)
                .append(", CFG scale: ").append(guidanceScale)
                .append(", Seed: ").append(seed)
                .append(", Size: ").append(width).append('x').append(height);
        if (strength != null) sb.append(", Denoising strength: ").append(strength);
        if (highNoiseFraction != null) sb.append(", Refiner switch at: ").append(highNoiseFraction);
        if (guidanceRescale > 0) sb.append(", CFG rescale: ").append(guidanceRescale);
        if (maskDilateKernel != null) {
            sb.append(", Mask dilation: ").append(maskDilateKernel).append('x').append(maskDilateKernel)
                    .append(" x").append(maskDilateIterations);
        }
        if (maskBlur != null) sb.append(", Mask blur: ").append(maskBlur);
        if (models != null) {
            sb.append(", ").append(models.entrySet().stream()
                    .map(e -> "Model " + e.getKey() + ": " + e.getValue()).collect(Collectors.joining(", ")));
        }
        if (weightHashes != null && !weightHashes.isEmpty()) {
            sb.append(", Weight hashes: ").append(weightHashes.entrySet().stream()
                    .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" ")));
        }
        sb.append(", Version: ").append(LIBRARY).append(' ').append(version);
        return sb.toString();
    }

    static String joined(List<String> l) { return l == null ? null : String.join(" | ", l); }
}
