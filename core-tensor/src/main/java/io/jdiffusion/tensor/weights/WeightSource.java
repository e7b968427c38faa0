package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.Tensor;

import java.util.Set;

/** Named tensors a model is loaded from (one or more safetensors files, possibly renamed). */
public interface WeightSource extends AutoCloseable {
    Set<String> keys();

    /** Shape of a key without touching its data. */
    int[] shape(String key);

    /** The tensor, zero-copy where the source allows. */
    Tensor tensor(String key);

    /** Where a key comes from, for error messages (a file name). */
    String origin(String key);

    @Override
    void close();
}
