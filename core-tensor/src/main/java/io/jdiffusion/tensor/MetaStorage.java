package io.jdiffusion.tensor;

/** A storage with a dtype and a length but no bytes: module trees are built on it to list their parameters. */
public record MetaStorage(DType dtype, long length) implements Storage {
    @Override public Device device() { return Device.META; }

    @Override
    public void readFloats(long offset, float[] dst, int dstOffset, int count) {
        throw new UnsupportedOperationException("a meta tensor has no data (it only describes a shape)");
    }
}
