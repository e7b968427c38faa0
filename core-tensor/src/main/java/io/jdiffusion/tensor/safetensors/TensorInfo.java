package io.jdiffusion.tensor.safetensors;

import java.util.Arrays;

/** One header entry: name, dtype, shape and the byte range [begin, end) inside the data area. */
public record TensorInfo(String name, StDType dtype, int[] shape, long begin, long end) {
    public TensorInfo {
        shape = shape.clone();
    }

    /** A copy: the record stays immutable. */
    @Override
    public int[] shape() { return shape.clone(); }

    public int rank() { return shape.length; }

    public long numel() {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public long byteLength() { return end - begin; }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Arrays.hashCode(shape); }

    @Override
    public String toString() {
        return name + " " + dtype + Arrays.toString(shape) + " @[" + begin + ", " + end + ")";
    }
}
