package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The implicit-GEMM convolution's runtime self-check: it passes where the kernel is right (the
 * emulator, a GPU), and a forced mismatch makes the backend keep im2col + cuBLAS, whose result and
 * launches (im2col, GEMM, bias kernel) the convolution then has.
 */
@SuppressWarnings("try")
class ConvMmaCheckTest {
    @ParameterizedTest(name = "forced mismatch {0}")
    @ValueSource(booleans = {false, true})
    void theSelfCheckChoosesTheKernel(boolean mismatch) {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA test skipped: " + a.reason());
        try (CudaBackend be = CudaBackend.create(Backends.cudaDevice(), DType.F16, 0)) {
            be.forceConvMismatch = mismatch;
            assertEquals(!mismatch, be.useConvMma(), "self-check result");
            Random r = new Random(5);
            float[] x = new float[2 * 6 * 9 * 7], w = new float[10 * 6 * 9], b = new float[10];
            for (float[] arr : new float[][] {x, w, b}) for (int i = 0; i < arr.length; i++) arr[i] = (float) r.nextGaussian() * 0.3f;
            try (var s = be.openScope()) {
                Tensor xt = be.fromFloats(x, 2, 6, 9, 7), wt = be.fromFloats(w, 10, 6, 3, 3), bt = be.fromFloats(b, 10);
                long l0 = be.kernelLaunches();
                float[] got = be.conv2d(xt, wt, bt, 1, 1).toFloatArray();
                assertEquals(mismatch ? 3 : 1, be.kernelLaunches() - l0, mismatch ? "im2col, GEMM, bias kernel" : "conv_mma.cu alone");
                float[] path = (mismatch ? be.conv2dIm2col(xt, wt, bt, 1, 1) : be.conv2dImplicitGemm(xt, wt, bt, 1, 1, null)).toFloatArray();
                assertArrayEquals(path, got, 0f, "conv2d runs the path the check chose");
            }
        }
    }
}
