package io.jdiffusion.tensor.testing;

import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Assertions;

import java.util.Arrays;

/** Compares tensors and reports the worst absolute and relative error and where they occurred. */
public final class TensorAssert {
    private TensorAssert() {}

    /** Error statistics of actual against expected. */
    public record Diff(double maxAbs, int maxAbsIndex, double maxRel, int maxRelIndex, int count) {
        @Override
        public String toString() {
            return String.format("max abs err %.3g at [%d], max rel err %.3g at [%d] over %d values",
                    maxAbs, maxAbsIndex, maxRel, maxRelIndex, count);
        }
    }

    public static Diff diff(float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            throw new AssertionError("length differs: expected " + expected.length + ", got " + actual.length);
        }
        double maxAbs = 0, maxRel = 0;
        int ia = 0, ir = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            double d = Math.abs(e - a);
            if (Double.isNaN(a) != Double.isNaN(e)) d = Double.POSITIVE_INFINITY;
            if (d > maxAbs || (Double.isInfinite(d) && ia != i && maxAbs != d)) { maxAbs = d; ia = i; }
            double r = d / Math.max(Math.abs(e), 1e-12);
            if (r > maxRel) { maxRel = r; ir = i; }
        }
        return new Diff(maxAbs, ia, maxRel, ir, expected.length);
    }

    /** Every |actual - expected| within {@code atol}; the message names what and the worst element. */
    public static Diff assertClose(String what, float[] expected, float[] actual, double atol) {
        Diff d = diff(expected, actual);
        if (!(d.maxAbs() <= atol)) {
            Assertions.fail(what + ": " + d + " (tolerance " + atol + "); expected "
                    + expected[d.maxAbsIndex()] + ", got " + actual[d.maxAbsIndex()]);
        }
        return d;
    }

    /** Shapes equal and every element within {@code atol}. */
    public static Diff assertClose(String what, Tensor expected, Tensor actual, double atol) {
        if (!Arrays.equals(expected.shape(), actual.shape())) {
            Assertions.fail(what + ": shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape()));
        }
        return assertClose(what, expected.toFloatArray(), actual.toFloatArray(), atol);
    }
}
