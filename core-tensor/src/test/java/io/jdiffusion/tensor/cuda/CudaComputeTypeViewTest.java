package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@link CudaBackend#withComputeType}: an F32 view of an F16 backend (the SDXL VAE beside an F16
 * UNet) reads the F16 backend's tensors in place, computes in F32, shares its memory and scopes,
 * and is closed with it.
 */
class CudaComputeTypeViewTest {
    static float[] rand(int n, long seed) {
        Random r = new Random(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = r.nextFloat() * 2 - 1;
        return f;
    }

    @Test
    void anF32ViewOfAnF16BackendSharesMemoryAndScopes() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        assumeTrue(a.available(), "CUDA test skipped: " + a.reason());
        CudaBackend half = CudaBackend.create(Backends.cudaDevice(), DType.F16, 0);
        CudaBackend full = half.withComputeType(DType.F32);
        try {
            assertSame(full, half.withComputeType(DType.F32), "one view per dtype");
            assertSame(half, full.withComputeType(DType.F16), "back to the root");
            float[] xs = rand(2 * 8 * 6 * 5, 1), ws = rand(4 * 8 * 3 * 3, 2);
            long before = half.memoryStats().inUse();
            try (Backend.Scope s = half.openScope()) {
                Tensor x = half.fromFloats(xs, 2, 8, 6, 5);                     // F16 activations
                Tensor w = full.fromFloats(ws, 4, 8, 3, 3);                     // F32 weights
                Tensor y = full.conv2d(x, w, null, 1, 1);
                assertEquals(DType.F32, y.dtype());
                // the reference: the same F16-rounded input on the CPU
                float[] xr = half.upload(Tensor.of(xs, 2, 8, 6, 5)).toFloatArray();
                float[] ref = CpuBackend.INSTANCE.conv2d(Tensor.of(xr, 2, 8, 6, 5), Tensor.of(ws, 4, 8, 3, 3), null, 1, 1).toFloatArray();
                float[] got = y.toFloatArray();
                for (int i = 0; i < ref.length; i++) assertEquals(ref[i], got[i], 1e-4, "element " + i);
                // and back: an F16 op on the view's F32 result
                assertEquals(DType.F16, half.silu(y).dtype());
            }
            assertEquals(before, half.memoryStats().inUse(), "the view's tensors belonged to the F16 backend's scope");
            full.close();   // a view owns nothing
            assertEquals(DType.F16, half.silu(half.fromFloats(xs, xs.length)).dtype());
        } finally {
            half.close();
        }
        assertThrows(IllegalStateException.class, () -> full.silu(Tensor.of(new float[] {1})), "closing the root closes its views");
    }
}
