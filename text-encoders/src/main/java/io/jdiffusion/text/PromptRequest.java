package io.jdiffusion.text;

import java.util.Collections;
import java.util.List;

/**
 * The text arguments of diffusers' {@code StableDiffusionXLPipeline.encode_prompt}, with Python's
 * None as Java null. Build with {@link #of(String)} / {@link #of(List)} and the {@code with…}
 * methods, which follow diffusers' string rules: an empty {@code prompt_2} or
 * {@code negative_prompt_2} string means "same as prompt / negative_prompt" (Python's
 * {@code x or y}), while an explicit empty {@code negative_prompt} is encoded (it is not None).
 * A single string for a batch of prompts is used for every prompt.
 *
 * @param prompt             one entry per prompt (batch size = its length)
 * @param prompt2            for text_encoder_2; null = same as prompt
 * @param negativePrompt     null = None: zeros when the model's force_zeros_for_empty_prompt is set, else ""
 * @param negativePrompt2    for text_encoder_2; null = same as negative prompt
 * @param numImagesPerPrompt rows per prompt in the output (each prompt's rows consecutive)
 * @param doClassifierFreeGuidance whether the negative branch is produced (guidance_scale > 1)
 * @param clipSkip           null, or the number of final layers skipped for the positive prompt
 *                           (hidden_states[-(clipSkip + 2)]; the negative branch always uses [-2])
 */
public record PromptRequest(List<String> prompt, List<String> prompt2, List<String> negativePrompt,
                            List<String> negativePrompt2, int numImagesPerPrompt, boolean doClassifierFreeGuidance,
                            Integer clipSkip) {
    public PromptRequest {
        if (prompt == null || prompt.isEmpty()) throw new IllegalArgumentException("prompt: at least one prompt is required");
        prompt = checked("prompt", prompt, prompt.size());
        prompt2 = checked("prompt_2", prompt2, prompt.size());
        negativePrompt = checked("negative_prompt", negativePrompt, prompt.size());
        negativePrompt2 = checked("negative_prompt_2", negativePrompt2, prompt.size());
        if (numImagesPerPrompt < 1) throw new IllegalArgumentException("num_images_per_prompt must be >= 1, got " + numImagesPerPrompt);
        if (clipSkip != null && clipSkip < 0) throw new IllegalArgumentException("clip_skip must be null or >= 0, got " + clipSkip);
    }

    private static List<String> checked(String name, List<String> list, int batch) {
        if (list == null) return null;
        if (list.size() != batch) {
            throw new IllegalArgumentException(name + " has " + list.size() + " entries but there are " + batch + " prompts");
        }
        for (int i = 0; i < list.size(); i++) {
            if (list.get(i) == null) throw new IllegalArgumentException(name + "[" + i + "] is null (use \"\" for an empty text)");
        }
        return List.copyOf(list);
    }

    /** One prompt, one image, classifier-free guidance on, no negative prompt, no clip skip. */
    public static PromptRequest of(String prompt) {
        if (prompt == null) throw new IllegalArgumentException("prompt is null (use \"\" for an empty prompt)");
        return of(List.of(prompt));
    }

    /** A batch of prompts, one image each, guidance on. */
    public static PromptRequest of(List<String> prompts) {
        return new PromptRequest(prompts, null, null, null, 1, true, null);
    }

    public int batchSize() { return prompt.size(); }

    private List<String> broadcast(String s) { return s == null ? null : Collections.nCopies(prompt.size(), s); }

    /** {@code prompt_2} as a string: "" or null mean "same as prompt" (diffusers' {@code prompt_2 or prompt}). */
    public PromptRequest withPrompt2(String p2) { return withPrompt2(p2 == null || p2.isEmpty() ? null : broadcast(p2)); }

    public PromptRequest withPrompt2(List<String> p2) {
        return new PromptRequest(prompt, p2, negativePrompt, negativePrompt2, numImagesPerPrompt, doClassifierFreeGuidance, clipSkip);
    }

    /** {@code negative_prompt}: null is None (zeros where the model says so); "" is encoded as the empty prompt. */
    public PromptRequest withNegativePrompt(String n) { return withNegativePrompt(broadcast(n)); }

    public PromptRequest withNegativePrompt(List<String> n) {
        return new PromptRequest(prompt, prompt2, n, negativePrompt2, numImagesPerPrompt, doClassifierFreeGuidance, clipSkip);
    }

    /** {@code negative_prompt_2} as a string: "" or null mean "same as negative_prompt". */
    public PromptRequest withNegativePrompt2(String n2) { return withNegativePrompt2(n2 == null || n2.isEmpty() ? null : broadcast(n2)); }

    public PromptRequest withNegativePrompt2(List<String> n2) {
        return new PromptRequest(prompt, prompt2, negativePrompt, n2, numImagesPerPrompt, doClassifierFreeGuidance, clipSkip);
    }

    public PromptRequest withNumImagesPerPrompt(int n) {
        return new PromptRequest(prompt, prompt2, negativePrompt, negativePrompt2, n, doClassifierFreeGuidance, clipSkip);
    }

    public PromptRequest withClassifierFreeGuidance(boolean cfg) {
        return new PromptRequest(prompt, prompt2, negativePrompt, negativePrompt2, numImagesPerPrompt, cfg, clipSkip);
    }

    public PromptRequest withClipSkip(Integer skip) {
        return new PromptRequest(prompt, prompt2, negativePrompt, negativePrompt2, numImagesPerPrompt, doClassifierFreeGuidance, skip);
    }
}
