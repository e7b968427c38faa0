package io.jdiffusion.tensor.meta;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Lifetimes;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetaBackendTest {
    static Tensor rand(int... shape) {
        Random r = new Random(Arrays.hashCode(shape));
        float[] f = new float[(int) Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < f.length; i++) f[i] = r.nextFloat() - 0.5f;
        return Tensor.of(f, shape);
    }

    /** Every op gives the shape the CPU reference backend gives. */
    @Test
    void shapesAgreeWithTheCpuBackend() {
        List<BiFunction<Backend, List<Tensor>, Tensor>> ops = List.of(
                (b, t) -> b.matmul(b.upload(t.get(0)), b.upload(t.get(8))),
                (b, t) -> b.linear(b.upload(t.get(1)), b.upload(t.get(2)), null),
                (b, t) -> b.conv2d(b.upload(t.get(3)), b.upload(t.get(4)), null, 2, 1),
                (b, t) -> b.attention(b.upload(t.get(5)), b.upload(t.get(6)), b.upload(t.get(6)), false),
                (b, t) -> b.geglu(b.upload(t.get(1))),
                (b, t) -> b.add(b.upload(t.get(0)), b.upload(t.get(7))),
                (b, t) -> b.concat(1, b.upload(t.get(0)), b.upload(t.get(0))),
                (b, t) -> b.split(b.upload(t.get(3)), 1, 1, 3).get(1),
                (b, t) -> b.narrow(b.upload(t.get(3)), 3, 1, 4),
                (b, t) -> b.permute(b.upload(t.get(3)), 0, 2, 3, 1),
                (b, t) -> b.upsampleNearest2x(b.upload(t.get(3))),
                (b, t) -> b.sum(b.upload(t.get(3)), 2, false),
                (b, t) -> b.groupNorm(b.upload(t.get(3)), 2, null, null, 1e-5f, true),
                (b, t) -> b.embedding(b.upload(t.get(2)), new int[] {1, 0, 3}));
        List<Tensor> in = List.of(rand(2, 3, 5), rand(3, 5, 8), rand(4, 8), rand(2, 4, 9, 7), rand(6, 4, 3, 3),
                rand(1, 2, 5, 16), rand(1, 2, 9, 16), rand(5), rand(5, 6));
        MetaBackend meta = new MetaBackend(DType.F16);
        for (var op : ops) {
            Tensor cpu = op.apply(CpuBackend.INSTANCE, in), m = op.apply(meta, in);
            assertArrayEquals(cpu.shape(), m.shape());
            assertEquals(DType.F16, m.dtype());
        }
        assertThrows(IllegalArgumentException.class, () -> meta.matmul(meta.zeros(2, 3), meta.zeros(4, 5)));
        assertThrows(IllegalArgumentException.class, () -> meta.attention(meta.zeros(1, 1, 4, 520), meta.zeros(1, 1, 4, 520), meta.zeros(1, 1, 4, 520), false));
    }

    @Test
    void gemmFlopsAreTwiceTheMultiplyAdds() {
        MetaBackend m = new MetaBackend(DType.F16);
        long f0 = m.counters().gemmFlops();
        m.linear(m.zeros(2, 77, 640), m.zeros(1280, 640), m.zeros(1280));
        assertEquals(2L * 2 * 77 * 640 * 1280, m.counters().gemmFlops() - f0);
        f0 = m.counters().gemmFlops();
        m.conv2d(m.zeros(2, 320, 64, 64), m.zeros(640, 320, 3, 3), null, 2, 1);   // 32×32 outputs
        assertEquals(2L * 2 * 32 * 32 * 640 * 320 * 9, m.counters().gemmFlops() - f0);
        f0 = m.counters().gemmFlops();
        m.attention(m.zeros(2, 10, 4096, 64), m.zeros(2, 10, 77, 64), m.zeros(2, 10, 77, 64), false);
        assertEquals(2L * 2 * 10 * 4096 * 77 * (64 + 64), m.counters().gemmFlops() - f0);
        f0 = m.counters().gemmFlops();
        m.matmul(m.zeros(3, 1, 4, 5), m.zeros(2, 5, 6));
        assertEquals(2L * 6 * 4 * 6 * 5, m.counters().gemmFlops() - f0);
    }

    /** Counted as CUDA runs them: tensor-core attention reads [B, S, H·D] in one launch; large GroupNorm groups take two. */
    @Test
    void launchesFollowTheCudaKernels() {
        MetaBackend m = new MetaBackend(DType.F16);
        Tensor q = m.zeros(2, 4096, 640), kv = m.zeros(2, 77, 640);
        long l0 = m.counters().kernelLaunches(), f0 = m.counters().gemmFlops();
        assertArrayEquals(new int[] {2, 4096, 640}, m.attentionHeads(q, kv, kv, 10).shape());
        assertEquals(1, m.counters().kernelLaunches() - l0, "head size 64 in F16: the tensor-core kernel, no permutes");
        assertEquals(2L * 2 * 10 * 4096 * 77 * (64 + 64), m.counters().gemmFlops() - f0, "the same FLOPs as attention");
        Tensor small = m.zeros(1, 16, 40);
        l0 = m.counters().kernelLaunches();
        m.attentionHeads(small, small, small, 5);
        assertEquals(5, m.counters().kernelLaunches() - l0, "head size 8: split (3 permutes), attention, merge");
        MetaBackend f32 = new MetaBackend(DType.F32);
        Tensor x32 = f32.zeros(2, 77, 640);
        l0 = f32.counters().kernelLaunches();
        f32.attentionHeads(x32, x32, x32, 10);
        assertEquals(5, f32.counters().kernelLaunches() - l0, "F32: the CUDA-core kernel on split heads");
        Tensor big = m.zeros(2, 320, 128, 128), c320 = m.zeros(320), img = m.zeros(2, 64, 8, 8), c64 = m.zeros(64);
        l0 = m.counters().kernelLaunches();
        m.groupNorm(big, 32, c320, c320, 1e-5f, true);
        assertEquals(2, m.counters().kernelLaunches() - l0, "10 x 128² values per group: statistics, then normalise");
        l0 = m.counters().kernelLaunches();
        m.groupNorm(img, 32, c64, c64, 1e-5f, false);
        assertEquals(1, m.counters().kernelLaunches() - l0, "small groups: one block per group");
        // convolutions: F16 one implicit-GEMM launch with bias and addend, no buffer; F32 im2col + GEMM + bias kernel
        Tensor w = m.zeros(320, 320, 3, 3), temb = m.zeros(2, 320, 1, 1);
        l0 = m.counters().kernelLaunches();
        long peak0 = m.peakBytesInUse();
        m.conv2dAdd(big, w, c320, 1, 1, temb);
        assertEquals(1, m.counters().kernelLaunches() - l0, "F16 conv2dAdd: conv_mma.cu alone");
        assertEquals(peak0 + big.numel() * 2, m.peakBytesInUse(), "F16: the result and no im2col buffer");
        Tensor x32s = f32.zeros(2, 320, 16, 16), w32 = f32.zeros(320, 320, 3, 3), b32 = f32.zeros(320);
        l0 = f32.counters().kernelLaunches();
        f32.conv2d(x32s, w32, b32, 1, 1);
        assertEquals(3, f32.counters().kernelLaunches() - l0, "F32: im2col, one GEMM, the bias kernel");
    }

    @Test
    void scopesReleaseWhatTheyDoNotKeepAndCountTheirPeak() {
        MetaBackend m = new MetaBackend(DType.F16);
        Tensor host = rand(4, 256);
        Tensor kept;
        try (Backend.Scope outer = m.openScope()) {
            try (Backend.Scope s = m.openScope()) {
                Tensor a = m.upload(host);            // 2 KiB in F16, one host→device copy of 4 KiB (F32)
                Tensor b = m.silu(a);
                kept = s.keep(m.add(a, b));
            }
            assertEquals(2048, m.bytesInUse(), "only the kept result outlives the inner scope");
            assertEquals(3 * 2048, m.peakBytesInUse());
        }
        assertEquals(0, m.bytesInUse(), "the outer scope released the kept tensor");
        assertEquals(4096, m.counters().hostToDeviceBytes());
        assertEquals(0, kept.toFloatArray()[0], "reads give zeros");
        assertEquals(2048, m.counters().deviceToHostBytes());
        // an op on a host F32 input converts it into a temporary: counted at the peak, one extra launch
        long launches = m.counters().kernelLaunches();
        m.resetPeak();
        m.silu(host).close();
        assertEquals(2 * 2048, m.peakBytesInUse());
        assertEquals(2, m.counters().kernelLaunches() - launches);
    }

    @Test
    void aChainReleasesEachIntermediateOnceTheNextStepHasReadIt() {
        MetaBackend m = new MetaBackend(DType.F32);
        Tensor x = m.zeros(1, 1024);                         // 4 KiB
        List<UnaryOperator<Tensor>> steps = List.of(m::silu, m::silu, m::silu, m::silu);
        m.resetPeak();
        Tensor y = Lifetimes.chain(m, x, steps);
        // x, the step's input and its output: never more than 3 tensors, however long the chain
        assertEquals(3 * 4096, m.peakBytesInUse());
        assertEquals(2 * 4096, m.bytesInUse(), "x and the result");
        assertTrue(y != x);
    }

    @Test
    void weightsAreConvertedOnceAtLoadToTheDeviceType() {
        var shapes = io.jdiffusion.tensor.weights.RandomWeights.shapesOf("lin", p -> new io.jdiffusion.tensor.nn.Linear(p.child("fc"), 64, 32, true));
        MetaBackend m = new MetaBackend(DType.F16);
        io.jdiffusion.tensor.weights.Params p = io.jdiffusion.tensor.weights.Params.load("lin",
                io.jdiffusion.tensor.weights.RandomWeights.lazy(shapes, 0, DType.F32), m, null);
        io.jdiffusion.tensor.nn.Linear l = new io.jdiffusion.tensor.nn.Linear(p.child("fc"), 64, 32, true);
        p.finish();
        assertEquals((64 * 32 + 32) * 2, m.bytesInUse(), "F32 file, F16 device weights");
        long launches = m.counters().kernelLaunches();
        Tensor x = m.zeros(4, 64);
        l.forward(x);
        assertEquals(2, m.counters().kernelLaunches() - launches, "zeros + one GEMM: no per-op weight casts");
        // an F32 view shares the ledger; its ops read the F16 device's tensors
        MetaBackend f32 = m.withComputeType(DType.F32);
        long h2d = m.counters().hostToDeviceBytes(), inUse = m.bytesInUse();
        Tensor y = f32.silu(x);
        assertEquals(DType.F32, y.dtype());
        assertEquals(h2d, m.counters().hostToDeviceBytes(), "no copy through the host");
        assertEquals(inUse + 4 * 64 * 4, f32.bytesInUse(), "one ledger");
    }
}
