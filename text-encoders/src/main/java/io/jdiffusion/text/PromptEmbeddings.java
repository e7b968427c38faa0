package io.jdiffusion.text;

import io.jdiffusion.tensor.Tensor;

/**
 * The four outputs of diffusers' {@code encode_prompt}, rows ordered prompt by prompt with each
 * prompt's {@code num_images_per_prompt} rows consecutive.
 *
 * @param promptEmbeds                [B·n, 77, 768+1280] (base: both encoders' penultimate layers side by side;
 *                                    refiner: [B·n, 77, 1280])
 * @param negativePromptEmbeds        same shape, null without classifier-free guidance
 * @param pooledPromptEmbeds          [B·n, projection_dim] from text_encoder_2's text_embeds
 * @param negativePooledPromptEmbeds  same shape, null without classifier-free guidance
 */
public record PromptEmbeddings(Tensor promptEmbeds, Tensor negativePromptEmbeds, Tensor pooledPromptEmbeds,
                               Tensor negativePooledPromptEmbeds) {}
