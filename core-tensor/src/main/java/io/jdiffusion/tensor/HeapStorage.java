package io.jdiffusion.tensor;

/** F32 elements in a Java array: what the CPU backend computes into. */
public record HeapStorage(float[] data) implements Storage {
    @Override public Device device() { return Device.CPU; }
    @Override public DType dtype() { return DType.F32; }
    @Override public long length() { return data.length; }

    @Override
    public void readFloats(long offset, float[] dst, int dstOffset, int count) {
        System.arraycopy(data, Math.toIntExact(offset), dst, dstOffset, count);
    }
}
