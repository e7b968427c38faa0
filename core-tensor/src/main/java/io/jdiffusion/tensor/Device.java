package io.jdiffusion.tensor;

/** Where a tensor's bytes live. */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, CUDA, META }

    public static final Device CPU = new Device(Kind.CPU, 0);
    /** Shape-only tensors: no bytes at all (used to check module trees without allocating weights). */
    public static final Device META = new Device(Kind.META, 0);

    public static Device cuda(int index) { return new Device(Kind.CUDA, index); }

    @Override
    public String toString() { return kind == Kind.CUDA ? "cuda:" + index : kind.name().toLowerCase(); }
}
