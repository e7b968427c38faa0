package io.jdiffusion.pipelines;

/** A torch-compatible random generator: the next {@code torch.randn(shape)} values. */
@FunctionalInterface
public interface NoiseSource {
    float[] randn(int... shape);
}
