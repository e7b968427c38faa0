package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Converted weights large enough to be humongous for G1 are packed one after another into shared
 * slabs ({@link WeightSlabs}) instead of one array each, whose last region's tail G1 wastes (2.4 GiB
 * over the full-size UNet at an 18 GB heap); they read back and multiply exactly as before.
 */
class WeightSlabsTest {
    private final CpuBackend cpu = CpuBackend.INSTANCE;

    @Test
    void largeWeightsShareOneSlabAndComputeAsTheirOwnArrays() {
        int rows = 300, cols = 520; // 156,000 floats: above WeightSlabs.MIN_FLOATS, not a multiple of the panel width
        assertTrue(rows * cols >= WeightSlabs.MIN_FLOATS);
        float[] v1 = Ref.random(11, rows * cols), v2 = Ref.random(12, rows * cols), r1 = new float[v1.length], r2 = new float[v2.length];
        Tensor m1 = Ref.halfTensor(DType.F16, v1, r1, rows, cols), m2 = Ref.halfTensor(DType.F16, v2, r2, rows, cols);
        long slab = 4L * rows * cols;
        WeightSlabs.closeAll(); // no slab of another test is open
        Tensor a = WeightCache.convert(m1, true, slab), b = WeightCache.convert(m2, true, slab);
        PanelStorage pa = (PanelStorage) a.storage(), pb = (PanelStorage) b.storage();
        assertTrue(pa.data() == pb.data(), "the second weight goes into the first one's slab");
        long packed = PanelStorage.packedLength(rows, cols, pa.width());
        assertEquals(packed, Math.abs(pb.base() - pa.base()), "one right after the other");
        assertTrue(pa.data().length <= slab, "a slab is never larger than the budget left");
        assertArrayEquals(r1, a.toFloatArray(), "first weight reads back row-major");
        assertArrayEquals(r2, b.toFloatArray(), "second weight reads back row-major");

        Tensor own = WeightCache.convert(m2, true); // its own array, as before slabs
        assertTrue(pb.data() != ((PanelStorage) own.storage()).data(), "without a slab, an array of its own");
        Tensor x = Tensor.of(Ref.random(13, 7 * cols), 7, cols);
        assertArrayEquals(cpu.linear(x, own, null).toFloatArray(), cpu.linear(x, b, null).toFloatArray(),
                "a weight at an offset in a slab gives the same products");
        // a convolution weight [out, in, kh, kw] reads its A panels (of MR rows) from the slab too
        Tensor conv = Ref.halfTensor(DType.F16, Ref.random(15, rows * 65 * 2 * 4), new float[rows * 65 * 2 * 4], rows, 65, 2, 4);
        Tensor cOwn = WeightCache.convert(conv, true), cSlab = WeightCache.convert(conv, true, 4L * rows * 65 * 8 * 3);
        assertTrue(((PanelStorage) cSlab.storage()).base() >= 0);
        Tensor in = Tensor.of(Ref.random(16, 2 * 65 * 6 * 6), 2, 65, 6, 6);
        assertArrayEquals(cpu.conv2d(in, cOwn, null, 1, 1).toFloatArray(), cpu.conv2d(in, cSlab, null, 1, 1).toFloatArray(),
                "a convolution weight in a slab gives the same output");
    }

    @Test
    void afterWeightsAreDroppedNewWeightsStartTheirOwnSlab() {
        int n = WeightSlabs.MIN_FLOATS;
        WeightSlabs.closeAll(); // what CpuBackend.weightsDropped does besides: no slab of other tests is open
        WeightSlabs.Place first = WeightSlabs.place(n, 8L * n);
        WeightSlabs.Place second = WeightSlabs.place(n, 8L * n);
        assertTrue(first.data() == second.data() && second.base() == n, "room left in the slab is used");
        WeightSlabs.closeAll(); // a component was unloaded: its slabs must not be kept alive by the next one's weights
        WeightSlabs.Place third = WeightSlabs.place(n, 8L * n);
        assertTrue(first.data() != third.data() && third.base() == 0, "the next weight starts a new slab");
    }

    @Test
    void smallWeightsAndSmallBudgetsGetTheirOwnArrays() {
        WeightSlabs.Place small = WeightSlabs.place(1000, 1L << 26);
        assertEquals(1000, small.data().length, "a weight G1 never treats as humongous keeps its own array");
        int n = 1 << 21;
        WeightSlabs.closeAll(); // no slab of another test is open
        WeightSlabs.Place tight = WeightSlabs.place(n, n + 10);
        assertEquals(n, tight.data().length, "with the budget nearly spent, no slab is allocated beyond it");
        WeightSlabs.Place roomy = WeightSlabs.place(n, 3L * n);
        assertEquals(3 * n, roomy.data().length, "a new slab takes what the budget has left, up to 256 MiB");
        assertEquals(0, roomy.base());
    }

    @Test
    void withBudgetForTwoMoreSlabsTheNextIsMadeAtTheSameTime() {
        int n = WeightSlabs.SLAB_FLOATS / 3 + 1; // two share a slab, three do not
        long budget = 3L * WeightSlabs.SLAB_FLOATS;
        WeightSlabs.closeAll(); // no slab of another test is open
        WeightSlabs.Place first = WeightSlabs.place(n, budget);
        assertEquals(2, WeightSlabs.openSlabs(), "the slab the weight went into, and the next one, zeroed on another core meanwhile");
        WeightSlabs.Place second = WeightSlabs.place(n, budget);
        assertTrue(second.data() == first.data() && second.base() == n, "the slab being filled comes first");
        WeightSlabs.Place third = WeightSlabs.place(n, budget);
        assertTrue(third.data() != first.data() && third.base() == 0 && third.data().length == WeightSlabs.SLAB_FLOATS,
                "the weight that does not fit starts the slab made ahead");
        assertEquals(2, WeightSlabs.openSlabs(), "taking it made no new one");
        WeightSlabs.closeAll();
        WeightSlabs.place(n, 2L * WeightSlabs.SLAB_FLOATS - 1);
        assertEquals(1, WeightSlabs.openSlabs(), "without budget for a second slab, none is made ahead");
        WeightSlabs.closeAll();
    }
}
