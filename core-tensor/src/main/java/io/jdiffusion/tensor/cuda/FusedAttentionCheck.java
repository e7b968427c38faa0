package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Random;

/**
 * The runtime self-check of the tensor-core attention kernel: the first time a head size is used,
 * the fused kernel runs on a small random problem (lengths that are not tile multiples) and is
 * compared with GEMM → softmax → GEMM on the same backend. A mismatch logs one line and the
 * backend keeps the CUDA-core kernel for that head size, so a wrong fragment assumption on some
 * GPU costs speed, never a wrong image.
 */
final class FusedAttentionCheck {
    private static final Logger LOG = LoggerFactory.getLogger(FusedAttentionCheck.class);
    private static final int HEADS = 2, SQ = 37, SK = 45;

    private FusedAttentionCheck() {}

    /** Largest |fused - reference| allowed: values are O(1); P is rounded to the storage type once. */
    static double tolerance(DType t) { return t == DType.BF16 ? 6e-2 : 1e-2; }

    static boolean passes(CudaBackend be, int d) {
        Random r = new Random(0x5eed + d);
        float[] qa = random(r, HEADS * SQ * d), ka = random(r, HEADS * SK * d), va = random(r, HEADS * SK * d);
        float[] fused, reference;
        try (Backend.Scope scope = be.openScope()) {
            Tensor q = be.fromFloats(qa, 1, HEADS, SQ, d), k = be.fromFloats(ka, 1, HEADS, SK, d), v = be.fromFloats(va, 1, HEADS, SK, d);
            Tensor o = be.zeros(1, HEADS, SQ, d);
            long hq = (long) SQ * d, hk = (long) SK * d;
            be.launchFused(address(q), address(k), address(v), address(o), 1, HEADS, SQ, SK, d,
                    new long[] {HEADS * hq, hq, d}, new long[] {HEADS * hk, hk, d}, new long[] {HEADS * hk, hk, d}, new long[] {HEADS * hq, hq, d});
            Tensor s = be.mulScalar(be.matmul(q, be.transpose(k, -1, -2)), (float) (1.0 / Math.sqrt(d)));
            Tensor ref = be.matmul(be.softmax(s), v);
            fused = o.toFloatArray();
            reference = ref.toFloatArray();
        }
        if (be.forceFusedMismatch) reference[reference.length / 2] += 1f;
        double worst = worstDifference(fused, reference);
        double tol = tolerance(be.computeType());
        if (!(worst <= tol)) {
            LOG.warn("tensor-core attention (head size {}, {}) differs from GEMM-softmax-GEMM by {} (> {}) on its self-check; "
                    + "using the CUDA-core attention kernel for this head size", d, be.computeType(), worst, tol);
            return false;
        }
        return true;
    }

    /** max |a - b|; NaN counts as the worst. */
    static double worstDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double e = Math.abs(a[i] - b[i]);
            if (!(e <= worst)) worst = e;
        }
        return worst;
    }

    private static long address(Tensor t) {
        CudaStorage s = (CudaStorage) t.storage();
        return s.pointer() + t.offset() * s.dtype().byteSize();
    }

    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }
}
