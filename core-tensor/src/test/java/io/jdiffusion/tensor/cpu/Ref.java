package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/** Plain helpers for the CPU backend tests: random data, index arithmetic, F16/BF16 segments. */
final class Ref {
    private Ref() {}

    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static float[] random(long seed, int n) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (r.nextGaussian());
        return x;
    }

    static Tensor randn(long seed, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return Tensor.of(random(seed, n), shape);
    }

    /** Row-major flat index of a multi-index. */
    static int flat(int[] shape, int... idx) {
        int f = 0;
        for (int i = 0; i < shape.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) throw new IndexOutOfBoundsException("index " + idx[i] + " of dim " + i);
            f = f * shape[i] + idx[i];
        }
        return f;
    }

    /** The multi-index of flat index f. */
    static int[] unflat(int[] shape, int f) {
        int[] idx = new int[shape.length];
        for (int i = shape.length - 1; i >= 0; i--) {
            idx[i] = f % shape[i];
            f /= shape[i];
        }
        return idx;
    }

    /** An F16 (or BF16) little-endian segment tensor of the values rounded to that type, and those rounded values. */
    static Tensor halfTensor(DType dtype, float[] values, float[] roundedOut, int... shape) {
        MemorySegment seg = Arena.ofAuto().allocate(2L * values.length, 2);
        for (int i = 0; i < values.length; i++) {
            short bits = dtype == DType.F16 ? DType.f32ToF16(values[i]) : DType.f32ToBf16(values[i]);
            seg.set(I16_LE, 2L * i, bits);
            roundedOut[i] = dtype == DType.F16 ? DType.f16ToF32(bits) : DType.bf16ToF32(bits);
        }
        return new Tensor(new SegmentStorage(seg, dtype), shape);
    }
}
