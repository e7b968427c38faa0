package io.jdiffusion.pipelines;

import java.util.List;

/** diffusers' SDXL encode_prompt for one model folder (two encoders for base/inpaint, one for the refiner). */
public interface PromptEncoder extends AutoCloseable {
    /**
     * @param negativePrompt null means "not given" (zeros when the model forces zeros for empty prompts)
     */
    PromptEmbeddings encode(List<String> prompt, List<String> prompt2, List<String> negativePrompt,
                            List<String> negativePrompt2, int imagesPerPrompt, boolean guidance, Integer clipSkip);

    @Override
    default void close() {}
}
