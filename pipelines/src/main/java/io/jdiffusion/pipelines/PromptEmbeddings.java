package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Tensor;

/**
 * What encode_prompt returns: token context [B, 77, D] and pooled [B, P] for the prompt and, when
 * guidance is on, for the negative prompt (null otherwise).
 */
public record PromptEmbeddings(Tensor context, Tensor pooled, Tensor negativeContext, Tensor negativePooled) {}
