package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Random;

/**
 * The runtime self-check of the implicit-GEMM convolution (conv_mma.cu): the first time a 16-bit
 * backend convolves, the kernel runs on a small random problem (K = 81, not a multiple of 16;
 * ragged channel and pixel tiles; bias and a residual) and is compared with im2col + cuBLAS on the
 * same backend. A mismatch logs one line and the backend keeps im2col + cuBLAS, so a wrong
 * fragment assumption on some GPU costs speed, never a wrong image (as {@link FusedAttentionCheck}).
 */
final class ConvMmaCheck {
    private static final Logger LOG = LoggerFactory.getLogger(ConvMmaCheck.class);
    private static final int N = 2, C = 9, H = 7, W = 5, O = 70;

    private ConvMmaCheck() {}

    static boolean passes(CudaBackend be) {
        Random r = new Random(0xc0);
        float[] xa = FusedAttentionCheck.random(r, N * C * H * W), wa = FusedAttentionCheck.random(r, O * C * 9);
        float[] ba = FusedAttentionCheck.random(r, O), ra = FusedAttentionCheck.random(r, N * O * H * W);
        for (int i = 0; i < wa.length; i++) wa[i] /= 9;   // outputs of order 1, like the attention check's
        float[] mma, reference;
        try (Backend.Scope scope = be.openScope()) {
            Tensor x = be.fromFloats(xa, N, C, H, W), w = be.fromFloats(wa, O, C, 3, 3), b = be.fromFloats(ba, O), res = be.fromFloats(ra, N, O, H, W);
            mma = be.conv2dImplicitGemm(x, w, b, 1, 1, res).toFloatArray();
            reference = be.conv2dIm2col(x, w, b, 1, 1, res).toFloatArray();
        }
        if (be.forceConvMismatch) reference[reference.length / 2] += 1f;
        double worst = FusedAttentionCheck.worstDifference(mma, reference), tol = FusedAttentionCheck.tolerance(be.computeType());
        if (!(worst <= tol)) {
            LOG.warn("implicit-GEMM convolution ({}) differs from im2col + cuBLAS by {} (> {}) on its self-check; using im2col + cuBLAS",
                    be.computeType(), worst, tol);
            return false;
        }
        return true;
    }
}
