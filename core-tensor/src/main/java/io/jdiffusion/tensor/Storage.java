package io.jdiffusion.tensor;

/**
 * The bytes behind a tensor. CPU tensors are backed by a float[] ({@link HeapStorage}) or by a
 * {@link java.lang.foreign.MemorySegment} ({@link SegmentStorage}, e.g. weights mapped from a
 * safetensors file); other backends provide their own implementations.
 */
public interface Storage {
    Device device();

    DType dtype();

    /** Number of elements this storage holds. */
    long length();

    /** Copies {@code count} elements starting at element {@code offset} into {@code dst} as F32. */
    void readFloats(long offset, float[] dst, int dstOffset, int count);

    /** Releases the bytes (device memory); no-op for storages owned by the garbage collector or a file. */
    default void release() {}
}
