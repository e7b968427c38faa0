package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device memory comes back: scopes release what they made, kept tensors survive, the budget is enforced. */
@SuppressWarnings("try")   // scopes are opened for their effect on the tensors made inside
class CudaLeakTest {
    private static CudaBackend b;

    @BeforeEach
    void open() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA test skipped: " + a.reason());
        if (b == null) b = CudaBackend.create(Backends.cudaDevice(), DType.F16, 0);
    }

    @AfterAll
    static void close() {
        if (b != null) b.close();
    }

    private static float[] rand(int n, long seed) {
        Random r = new Random(seed);
        float[] d = new float[n];
        for (int i = 0; i < d.length; i++) d[i] = r.nextFloat() - 0.5f;
        return d;
    }

    /** A small transformer-and-conv block: every kind of op, many temporaries. */
    private static Tensor forward(Tensor x, Tensor img, Map<String, Tensor> w) {
        Tensor h = b.layerNorm(x, w.get("ln_g"), w.get("ln_b"), 1e-5f);
        Tensor qkv = b.linear(h, w.get("qkv"), w.get("qkv_b"));
        List<Tensor> parts = b.chunk(qkv, 3, -1);
        Tensor q = b.permute(parts.get(0).reshape(2, 16, 4, 8), 0, 2, 1, 3);
        Tensor k = b.permute(parts.get(1).reshape(2, 16, 4, 8), 0, 2, 1, 3);
        Tensor v = b.permute(parts.get(2).reshape(2, 16, 4, 8), 0, 2, 1, 3);
        Tensor att = b.permute(b.attention(q, k, v, true), 0, 2, 1, 3).reshape(2, 16, 32);
        Tensor y = b.add(x, b.geglu(b.linear(att, w.get("ff"), null)));
        Tensor c = b.conv2d(b.groupNorm(img, 4, w.get("gn_g"), w.get("gn_b"), 1e-5f, true), w.get("conv"), w.get("conv_b"), 1, 1);
        Tensor up = b.upsampleNearest2x(c);
        Tensor pooled = b.mean(b.mean(up.reshape(2, 8, 64), -1, false), -1, true);
        return b.mul(b.sum(y, 1, false), b.softmax(pooled));
    }

    @Test
    void aThousandScopedPassesLeaveInUseBytesWhereTheyStarted() {
        Map<String, Tensor> w = Map.of(
                "ln_g", b.fromFloats(rand(32, 1), 32), "ln_b", b.fromFloats(rand(32, 2), 32),
                "qkv", b.fromFloats(rand(96 * 32, 3), 96, 32), "qkv_b", b.fromFloats(rand(96, 4), 96),
                "ff", b.fromFloats(rand(64 * 32, 5), 64, 32),
                "gn_g", b.fromFloats(rand(8, 6), 8), "gn_b", b.fromFloats(rand(8, 7), 8),
                "conv", b.fromFloats(rand(8 * 8 * 9, 8), 8, 8, 3, 3), "conv_b", b.fromFloats(rand(8, 9), 8));
        Tensor x = b.fromFloats(rand(2 * 16 * 32, 10), 2, 16, 32);
        Tensor img = b.fromFloats(rand(2 * 8 * 4 * 4, 11), 2, 8, 4, 4);
        float[] first;
        Tensor warm;
        try (Backend.Scope s = b.openScope()) {          // warm-up: kernels load, cuBLASLt workspace
            warm = s.keep(forward(x, img, w));
        }
        first = warm.toFloatArray();
        warm.close();
        b.synchronize();
        CachingAllocator.Stats before = b.memoryStats();
        for (int i = 0; i < 1000; i++) {
            Tensor kept;
            try (Backend.Scope s = b.openScope()) {
                kept = s.keep(forward(x, img, w));
            }
            if (i == 999) assertEquals(first[3], kept.toFloatArray()[3], "the same pass gives the same numbers");
            kept.close();
        }
        b.synchronize();
        CachingAllocator.Stats after = b.memoryStats();
        assertEquals(before.inUse(), after.inUse(), "bytes in use before " + before + ", after " + after);
        assertEquals(before.driverAllocations(), after.driverAllocations(), "passes after the first are served from the cache");
    }

    @Test
    void keptTensorsSurviveTheirScopeAndMoveToTheEnclosingOne() {
        long base = b.memoryStats().inUse();
        Tensor inner, dropped;
        try (Backend.Scope outer = b.openScope()) {
            try (Backend.Scope s = b.openScope()) {
                dropped = b.full(2f, 100);
                inner = s.keep(List.of(b.full(3f, 100))).get(0);
            }
            assertTrue(((CudaStorage) dropped.storage()).isReleased(), "not kept: released with its scope");
            assertFalse(((CudaStorage) inner.storage()).isReleased(), "kept: alive after its scope");
            assertEquals(3f, inner.toFloatArray()[99]);
        }
        assertTrue(((CudaStorage) inner.storage()).isReleased(), "kept into the outer scope, released with it");
        assertThrows(IllegalStateException.class, inner::toFloatArray);
        assertEquals(base, b.memoryStats().inUse());
    }

    @Test
    void theBudgetStopsAllocationsWithAClearMessage() {
        try (CudaBackend small = CudaBackend.create(Backends.cudaDevice(), DType.F32, 1 << 20)) {
            Tensor t = small.zeros(128, 1024);   // 512 KiB
            CudaException e = assertThrows(CudaException.class, () -> small.zeros(256, 1024));
            assertTrue(e.getMessage().contains("budget 1048576 bytes"), e.getMessage());
            t.close();
        }
    }

    /** Weights a model loads lazily in the middle of a forward pass outlive that pass's scope. */
    @Test
    void detachedAllocationsOutliveTheOpenScope() {
        Tensor weights;
        Tensor temporary;
        try (Backend.Scope scope = b.openScope()) {
            temporary = b.upload(Tensor.of(rand(64, 3), 8, 8), DType.F16);
            weights = b.detached(() -> b.upload(Tensor.of(rand(64, 4), 8, 8), DType.F16));
        }
        assertThrows(IllegalStateException.class, temporary::toFloatArray, "the scope released its own tensor");
        float[] w = weights.toFloatArray();
        float[] expected = rand(64, 4);
        for (int i = 0; i < w.length; i++) assertEquals(expected[i], w[i], 1e-3f, "the detached tensor is intact");
        long before = b.memoryStats().inUse();
        weights.close();
        assertTrue(b.memoryStats().inUse() < before, "the caller releases what it loaded detached");
    }
}
