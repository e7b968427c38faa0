package io.jdiffusion.tensor.cpu;

/**
 * The row kernels of the CPU softmax: maximum, and exp(scale·x − shift) in place with its sum.
 * On the Vector API ({@link VectorMath}) when the JVM has it, else scalar loops.
 */
final class Softmax {
    private Softmax() {}

    /** The maximum of x[off, off+n), n ≥ 1. */
    static float max(float[] x, int off, int n) {
        if (CpuGemm.VECTOR) return VectorMath.max(x, off, n);
        float m = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) m = Math.max(m, x[off + i]);
        return m;
    }

    /** x[i] = exp(scale·x[i] − shift) for i in [off, off+n); returns their sum. */
    static float expShifted(float[] x, int off, int n, float scale, float shift) {
        if (CpuGemm.VECTOR) return VectorMath.expShifted(x, off, n, scale, shift);
        float sum = 0;
        for (int i = off; i < off + n; i++) {
            float e = (float) Math.exp(x[i] * scale - shift);
            x[i] = e;
            sum += e;
        }
        return sum;
    }
}
