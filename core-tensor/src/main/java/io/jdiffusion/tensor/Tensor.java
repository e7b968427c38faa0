package io.jdiffusion.tensor;

import java.util.Arrays;

/**
 * An n-dimensional array: a shape, a dtype and a row-major contiguous window
 * ({@code offset}, {@code numel}) of a {@link Storage}. Reshapes and slices along the first
 * dimension are views; everything else is computed by a {@link Backend} into a new tensor.
 *
 * <p>Tensors are immutable values. {@link #close()} releases the storage for backends that own
 * native memory (a no-op on the CPU); a view shares the storage of its base, so only the owner
 * of the base should close it.
 */
public final class Tensor implements AutoCloseable {
    private final int[] shape;
    private final Storage storage;
    private final long offset;
    private final long numel;

    public Tensor(Storage storage, long offset, int... shape) {
        this.shape = shape.clone();
        this.storage = storage;
        this.offset = offset;
        this.numel = Shapes.numel(this.shape);
        if (offset < 0 || offset + numel > storage.length()) {
            throw new IllegalArgumentException("tensor window [" + offset + ", " + (offset + numel)
                    + ") lies outside its storage of " + storage.length() + " elements");
        }
    }

    public Tensor(Storage storage, int... shape) { this(storage, 0, shape); }

    /** A CPU F32 tensor over {@code data} (not copied). */
    public static Tensor of(float[] data, int... shape) {
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds "
                    + Shapes.numel(shape) + " elements, data has " + data.length);
        }
        return new Tensor(new HeapStorage(data), 0, shape);
    }

    public static Tensor zeros(int... shape) { return of(new float[Math.toIntExact(Shapes.numel(shape))], shape); }

    public static Tensor scalar(float v) { return of(new float[] {v}); }

    /** A tensor with a shape and no data. */
    public static Tensor meta(DType dtype, int... shape) {
        return new Tensor(new MetaStorage(dtype, Shapes.numel(shape)), 0, shape);
    }

    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    /** Size of dimension {@code d}; negative {@code d} counts from the end. */
    public int dim(int d) { return shape[d < 0 ? shape.length + d : d]; }

    public long numel() { return numel; }

    public DType dtype() { return storage.dtype(); }

    public Device device() { return storage.device(); }

    public Storage storage() { return storage; }

    /** Element offset of this tensor's first element in its storage. */
    public long offset() { return offset; }

    public boolean sameShape(int... other) { return Arrays.equals(shape, other); }

    /** A view with another shape of the same element count; one dimension may be -1. */
    public Tensor reshape(int... newShape) {
        int[] s = Shapes.inferReshape(numel, newShape);
        return new Tensor(storage, offset, s);
    }

    /** A view of rows {@code [start, end)} of the first dimension. */
    public Tensor slice(int start, int end) {
        if (shape.length == 0 || start < 0 || end > shape[0] || start > end) {
            throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") of dimension 0 of " + Arrays.toString(shape));
        }
        long rowSize = shape[0] == 0 ? 0 : numel / shape[0];
        int[] s = shape.clone();
        s[0] = end - start;
        return new Tensor(storage, offset + start * rowSize, s);
    }

    /** Row {@code i} of the first dimension, that dimension dropped. */
    public Tensor get(int i) {
        return slice(i, i + 1).reshape(Arrays.copyOfRange(shape, 1, shape.length));
    }

    /** The elements as F32 on the heap (a copy; downloads device tensors). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel)];
        storage.readFloats(offset, out, 0, out.length);
        return out;
    }

    /**
     * The backing array when this is a whole CPU F32 heap tensor, else a fresh F32 copy. Callers
     * must not write into the result.
     */
    public float[] floats() {
        if (storage instanceof HeapStorage(float[] data) && offset == 0 && data.length == numel) return data;
        return toFloatArray();
    }

    /** The single element of a one-element tensor. */
    public float item() {
        if (numel != 1) throw new IllegalStateException("item() of a tensor with " + numel + " elements");
        return toFloatArray()[0];
    }

    @Override
    public void close() { storage.release(); }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype() + " on " + device();
    }
}
