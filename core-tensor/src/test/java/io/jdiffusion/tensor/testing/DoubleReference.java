package io.jdiffusion.tensor.testing;

/** Layers computed from their definition in double, as independent references for the float kernels. */
public final class DoubleReference {
    private DoubleReference() {}

    /** y[s][o] = x[s] · W[o]ᵀ + b[o] in double (W [out, in] row-major, b may be null). */
    public static double[][] linear(double[][] x, float[] w, float[] b, int out) {
        int in = x[0].length;
        double[][] y = new double[x.length][out];
        for (int s = 0; s < x.length; s++) {
            for (int o = 0; o < out; o++) {
                double acc = b == null ? 0 : b[o];
                for (int i = 0; i < in; i++) acc += x[s][i] * w[o * in + i];
                y[s][o] = acc;
            }
        }
        return y;
    }
}
