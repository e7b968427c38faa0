package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.Storage;

/**
 * An F32 matrix [rows, cols] (a weight: linear [out, in], or a convolution's [out, in·kh·kw])
 * stored in the layout {@link CpuGemm}'s micro-kernel reads, packed once when the weight is
 * loaded: panels of {@code width} rows, each panel [cols][width], element (r, c) at
 * {@code data[base + (r / width)·cols·width + c·width + r % width]} (rows past the last are zero);
 * {@code data} may be a slab shared by many weights ({@link WeightSlabs}). The
 * GEMM reads its panels in place ({@link GemmOperand.Prepacked}); every other reader sees the
 * plain row-major elements through {@link #readFloats}.
 */
record PanelStorage(float[] data, int base, int rows, int cols, int width) implements Storage {
    /** A matrix packed alone in its own array. */
    PanelStorage(float[] data, int rows, int cols, int width) { this(data, 0, rows, cols, width); }

    @Override public Device device() { return Device.CPU; }
    @Override public DType dtype() { return DType.F32; }
    @Override public long length() { return (long) rows * cols; }

    /** Floats the packed form of a rows×cols matrix takes (rows rounded up to whole panels). */
    static long packedLength(int rows, int cols, int width) { return (long) ((rows + width - 1) / width) * width * cols; }

    @Override
    public void readFloats(long offset, float[] dst, int dstOffset, int count) {
        int i = 0;
        while (i < count) {
            long e = offset + i;
            int r = (int) (e / cols), c = (int) (e % cols), run = Math.min(count - i, cols - c);
            int s = base + (r / width) * cols * width + r % width;
            for (int t = 0; t < run; t++) dst[dstOffset + i + t] = data[s + (c + t) * width];
            i += run;
        }
    }

    /** Packs rows [r0, r0+n) of the row-major rows×cols matrix {@code src} (rows at {@code src[r·cols]}) into {@code data}. */
    static void pack(float[] src, int srcRow0, float[] data, int r0, int n, int cols, int width) {
        pack(src, srcRow0, data, r0, n, cols, width, 0, 0);
    }

    /** As {@link #pack(float[], int, float[], int, int, int, int)}, the source matrix from {@code srcOff} and the panels from {@code dataOff} on. */
    static void pack(float[] src, int srcRow0, float[] data, int r0, int n, int cols, int width, int srcOff, int dataOff) {
        for (int r = r0; r < r0 + n; r++) {
            int s = srcOff + (r - srcRow0) * cols, d = dataOff + (r / width) * cols * width + r % width;
            for (int c = 0; c < cols; c++) data[d + c * width] = src[s + c];
        }
    }
}
