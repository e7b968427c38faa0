package io.jdiffusion.tensor.safetensors;

/** One header entry: name, dtype, shape and the byte range [begin, end) inside the data area. */
public record TensorInfo(String name, StDType dtype, int[] shape, long begin, long end) {
    public long numel() {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    public long byteLength() { return end - begin; }
}
