package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.RandomWeights;
import io.jdiffusion.tensor.weights.WeightSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Set;

/**
 * Random weights drawn once and held in native memory in their stored dtype (2 bytes a parameter
 * for F16/BF16: 5.1 GB for the full-size UNet), for CPU benchmarks: {@link RandomWeights#lazy}
 * tensors compute their elements on every read, so a timed forward would mostly measure the
 * drawing of 2.6 B random numbers. The values are the same as the lazy ones (same seed).
 */
final class HeldRandomWeights implements WeightSource {
    private final RandomWeights drawn;
    private final Arena arena = Arena.ofShared();

    /** Takes over {@code streaming}, a {@link RandomWeights#streaming} source. */
    HeldRandomWeights(RandomWeights streaming) { this.drawn = streaming; }

    @Override public Set<String> keys() { return drawn.keys(); }

    @Override public int[] shape(String key) { return drawn.shape(key); }

    @Override
    public Tensor tensor(String key) {
        Tensor t = drawn.tensor(key); // valid until the next call: copy it out now
        SegmentStorage s = (SegmentStorage) t.storage();
        MemorySegment held = arena.allocate(s.segment().byteSize(), 64);
        held.copyFrom(s.segment());
        return new Tensor(new SegmentStorage(held, s.dtype()), 0, t.shape());
    }

    @Override public String origin(String key) { return drawn.origin(key); }

    /** Frees the held weights: the model built on them must not be used afterwards. */
    @Override
    public void close() {
        drawn.close();
        arena.close();
    }
}
