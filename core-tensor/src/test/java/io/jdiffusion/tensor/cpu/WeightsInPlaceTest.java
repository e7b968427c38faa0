package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CpuBackend#withWeightsInPlace}: a component loaded inside it (the text encoders, when the
 * weight cache cannot hold them beside the UNet) keeps its mapped weights where they are, counts
 * nothing against the cache, and computes the same numbers as converted weights; uploads after it
 * are converted again.
 */
class WeightsInPlaceTest {
    private final CpuBackend cpu = CpuBackend.INSTANCE;

    @Test
    void uploadsInsideStayMappedAndUnconvertedOutside() {
        float[] w = Ref.random(7, 70 * 33), rounded = new float[w.length];
        Tensor mapped = Ref.halfTensor(DType.F16, w, rounded, 70, 33);
        assertTrue(mapped.storage() instanceof SegmentStorage, "the weight lies in native memory, like a mapped file's");

        long before = WeightCache.usedBytes();
        Tensor inPlace = CpuBackend.withWeightsInPlace(() -> cpu.upload(mapped));
        assertSame(mapped, inPlace, "inside, the upload is the mapped tensor itself");
        assertEquals(before, WeightCache.usedBytes(), "and takes nothing from the weight cache");

        Tensor converted = cpu.upload(mapped);
        assertTrue(converted.storage() instanceof PanelStorage, "after it, uploads are packed as before");

        float[] x = Ref.random(8, 5 * 33);
        Tensor in = Tensor.of(x, 5, 33);
        float[] a = cpu.linear(in, inPlace, null).toFloatArray(), b = cpu.linear(in, converted, null).toFloatArray();
        assertArrayEquals(b, a, "the same products from the mapped F16 weight and its packed F32 copy");
        float[] naive = new float[5 * 70];
        for (int i = 0; i < 5; i++) {
            for (int o = 0; o < 70; o++) {
                double s = 0;
                for (int k = 0; k < 33; k++) s += (double) x[i * 33 + k] * rounded[o * 33 + k];
                naive[i * 70 + o] = (float) s;
            }
        }
        for (int i = 0; i < naive.length; i++) assertEquals(naive[i], a[i], 1e-4f * (1 + Math.abs(naive[i])), "element " + i);
    }

    @Test
    void weightsInPlaceAreWidenedPanelByPanelToTheConvertedProducts() {
        // several depth blocks (KC = 256) and row tiles, a panel-width remainder, both half formats: the
        // GEMM packs its panels straight from the mapped memory (GemmOperand.stored), no F32 copy per call
        int rows = 70, depth = 600, tokens = 150;
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            float[] w = Ref.random(21, rows * depth), rounded = new float[w.length];
            Tensor mapped = Ref.halfTensor(dt, w, rounded, rows, depth);
            assertTrue(WeightCache.readableByPool(mapped), "an auto arena's segment is read by the pool threads");
            Tensor inPlace = CpuBackend.withWeightsInPlace(() -> cpu.upload(mapped));
            assertSame(mapped, inPlace);
            Tensor x = Tensor.of(Ref.random(22, tokens * depth), tokens, depth), bias = Tensor.of(Ref.random(23, rows), rows);
            assertArrayEquals(cpu.linear(x, Tensor.of(rounded, rows, depth), bias).toFloatArray(),
                    cpu.linear(x, inPlace, bias).toFloatArray(), dt + ": the same sums as the widened heap weight, bit for bit");
        }
    }
}
