package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;

import java.util.List;

/**
 * What a run produced: the images (8-bit RGB, as diffusers' "pil" output) or, for
 * {@code outputLatents}, the raw latents; and the record of everything that made them.
 *
 * @param nhwc01 the images as diffusers' "np" output (NHWC floats in [0, 1]); null for latents
 */
public record GenerationResult(List<Image> images, float[] nhwc01, float[] latents, int[] shape, GenerationRecord record) {}
