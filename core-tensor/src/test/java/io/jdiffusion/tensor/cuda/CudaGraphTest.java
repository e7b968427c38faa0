package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.FunctionDescriptor;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Random;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CUDA graphs ({@link CudaGraph}, {@link GraphedPass}): a pass of every kind of op (uploads with a
 * cast, LayerNorm, cuBLASLt linear, cuBLAS matmul, tensor-core attention, convolution, memsets) is
 * captured once and replayed for new inputs with results equal to the eager pass's bit for bit;
 * what a capture cannot hold (host reads, host uploads, a self-check not run yet) refuses it with one
 * line and the pass runs eagerly; nothing leaks. Runs on the emulated device (which records and
 * replays the captured work) or a GPU; skipped without either.
 */
@SuppressWarnings("try")
class CudaGraphTest {
    private static CudaBackend b;
    private static Tensor wq, wo, convW, convB, gamma, beta;

    @BeforeEach
    void open() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA test skipped: " + a.reason());
        if (b == null) {
            b = CudaBackend.create(Backends.cudaDevice(), DType.F16, 0);
            wq = b.fromFloats(rand(3 * 128 * 64, 1), 3 * 128, 64);
            wo = b.fromFloats(rand(64 * 128, 2), 64, 128);
            convW = b.fromFloats(rand(8 * 8 * 9, 3), 8, 8, 3, 3);
            convB = b.fromFloats(rand(8, 4), 8);
            gamma = b.fromFloats(rand(64, 5), 64);
            beta = b.fromFloats(rand(64, 6), 64);
        }
    }

    @AfterAll
    static void closeBackend() {
        if (b == null) return;
        b.close();
        b = null;
    }

    /** n values uniform in [-1, 1) from {@code seed}. */
    private static float[] rand(int n, long seed) {
        double[] d = new Random(seed).doubles(n, -1, 1).toArray();
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) d[i];
        return f;
    }

    /** x [2, 16, 64] and img [2, 8, 6, 6] (host F32, uploaded and cast inside) to one [2, 16 + 288] row per batch entry. */
    private static Tensor pass(List<Tensor> in) {
        Tensor x = b.upload(in.get(0)), img = b.upload(in.get(1));
        Tensor h = b.layerNorm(x, gamma, beta, 1e-5f);
        Tensor qkv = b.linear(h, wq, null);                                  // cuBLASLt
        List<Tensor> p = b.chunk(qkv, 3, -1);
        Tensor att = b.attentionHeads(p.get(0), p.get(1), p.get(2), 2);       // head size 64: tensor-core kernel
        Tensor y = b.linearAdd(att, wo, null, x);                             // cuBLASLt with C
        Tensor s = b.softmax(b.matmul(y, b.transpose(y, -1, -2)));           // cuBLAS strided batched
        Tensor pooled = b.add(b.sum(s, 2, false), b.zeros(2, 16));           // memset
        Tensor c = b.conv2d(b.groupNorm(img, 4, convB, convB, 1e-5f, true), convW, convB, 1, 1);
        return b.concat(1, pooled, c.reshape(2, 288));
    }

    private static List<Tensor> inputs(long seed) {
        return List.of(Tensor.of(rand(2 * 16 * 64, seed), 2, 16, 64), Tensor.of(rand(2 * 8 * 36, seed + 1), 2, 8, 6, 6));
    }

    private static float[] eager(List<Tensor> in) {
        try (Backend.Scope s = b.openScope()) {
            return pass(in).toFloatArray();
        }
    }

    private static float[] graphed(GraphedPass g, List<Tensor> in) {
        try (Backend.Scope s = b.openScope()) {
            return g.run(b, in, CudaGraphTest::pass).toFloatArray();
        }
    }

    @Test
    void aReplayForNewInputsEqualsTheEagerPassBitForBit() {
        // another backend's cuBLAS handle, made later on its own stream, must not take b's calls out of b's capture
        CudaBackend.create(Backends.cudaDevice(), DType.F32, 0).close();
        List<Tensor> a = inputs(10), c = inputs(20);
        float[] eagerA = eager(a), eagerC = eager(c);
        long before = b.kernelLaunches();
        eager(a);
        long perPass = b.kernelLaunches() - before;
        try (GraphedPass g = new GraphedPass("the test pass")) {
            assertArrayEquals(eagerA, graphed(g, a), 0f, "first call: eager, then captured");
            assertEquals(1, g.graphs());
            assertEquals(1, g.logged().size(), "one line: " + g.logged());
            assertTrue(g.logged().get(0).contains("captured (" + perPass + " launches"), g.logged().get(0));
            before = b.kernelLaunches();
            float[] replayC = graphed(g, c);
            assertEquals(perPass, b.kernelLaunches() - before, "a replay runs the eager pass's launches");
            assertArrayEquals(eagerC, replayC, 0f, "replay with other inputs = eager, bit for bit");
            // eager work between replays allocates and overwrites freely: none of it touches the graph's memory
            try (Backend.Scope s = b.openScope()) {
                for (int i = 0; i < 3; i++) pass(inputs(30 + i));
                b.full(Float.NaN, 1 << 16);
            }
            assertArrayEquals(eagerA, graphed(g, a), 0f, "replay of the first inputs again = eager");
            assertEquals(2, g.replays());
            assertEquals(1, g.logged().size(), "replays log nothing");
        }
    }

    @Test
    void whatACaptureCannotHoldRefusesItWithOneLineAndThePassRunsEagerly() {
        List<Tensor> a = inputs(40);
        float[] expected = eager(a);
        record Case(String what, java.util.function.Function<List<Tensor>, Tensor> pass, String reason) {}
        List<Case> cases = List.of(
                new Case("a host read", in -> { Tensor t = pass(in); t.toFloatArray(); return t; }, "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"),
                new Case("a host upload", in -> b.add(pass(in), b.fromFloats(new float[304], 1, 304)), "host data uploaded inside a CUDA graph capture"));
        for (Case k : cases) {
            try (GraphedPass g = new GraphedPass("the test pass")) {
                for (int i = 0; i < 2; i++) {
                    try (Backend.Scope s = b.openScope()) {
                        assertArrayEquals(expected, g.run(b, a, k.pass).toFloatArray(), 0f, k.what + ": the eager result, call " + i);
                    }
                }
                assertEquals(0, g.graphs(), k.what);
                assertEquals(1, g.logged().size(), k.what + ": one line, " + g.logged());
                String line = g.logged().get(0);
                assertTrue(line.contains("refused") && line.contains(k.reason), line);
            }
        }
        // the forced failure the UNet tests use: a stream synchronisation inside the pass
        try (GraphedPass g = new GraphedPass("the test pass")) {
            g.failNextCapture();
            assertArrayEquals(expected, graphed(g, a), 0f);
            assertArrayEquals(expected, graphed(g, a), 0f);
            assertEquals(0, g.graphs());
            assertEquals(1, g.logged().size(), g.logged().toString());
            assertTrue(g.logged().get(0).contains("cuStreamSynchronize"), g.logged().get(0));
        }
    }

    @Test
    void aSelfCheckNotRunYetRefusesTheCapture() {
        Tensor q = b.fromFloats(rand(2 * 5 * 256, 50), 2, 5, 256);   // head size 128: no eager pass ran its self-check
        CudaGraph.CaptureException e = assertThrows(CudaGraph.CaptureException.class,
                () -> CudaGraph.capture(b, () -> b.attentionHeads(q, q, q, 2)));
        assertTrue(e.getMessage().contains("self-check (head size 128) has not run"), e.getMessage());
        q.close();
    }

    @Test
    void graphsLeakNothing() {
        List<Tensor> a = inputs(60), c = inputs(61);
        eager(a);
        b.synchronize();
        CachingAllocator.Stats before = b.memoryStats();
        long liveBefore = liveEmulatedGraphs();
        try (GraphedPass g = new GraphedPass("the test pass")) {
            graphed(g, a);
            assertTrue(b.allocator().graphPoolBytes() > 0, "the graph holds its private pool");
            long driverAllocations = b.memoryStats().driverAllocations();
            for (int i = 0; i < 100; i++) graphed(g, i % 2 == 0 ? a : c);
            assertEquals(driverAllocations, b.memoryStats().driverAllocations(), "replays allocate nothing new from the driver");
            assertEquals(100, g.replays());
        }
        b.synchronize();
        CachingAllocator.Stats after = b.memoryStats();
        assertEquals(before.inUse(), after.inUse(), "bytes in use before " + before + ", after " + after);
        assertEquals(0, b.allocator().graphPoolBytes(), "the pool went back to the cache");
        if (liveBefore >= 0) assertEquals(liveBefore, liveEmulatedGraphs(), "every graph and executable graph destroyed");
        // a backend closed with a graph alive destroys it
        try (CudaBackend other = CudaBackend.create(Backends.cudaDevice(), DType.F32, 0)) {
            CudaGraph g = CudaGraph.capture(other, () -> other.add(other.zeros(4), other.zeros(4)));
            g.launch();
            assertEquals(3, g.kernels(), "two memsets and the add");
            other.close();
            g.close();
        }
        if (liveBefore >= 0) assertEquals(liveBefore, liveEmulatedGraphs(), "closing the backend destroyed its graphs");
    }

    /** The emulated driver's count of graphs not destroyed (-1 on a real driver). */
    private static long liveEmulatedGraphs() {
        MethodHandle h = b.driver.lib.optional("jdemu_live_graphs", FunctionDescriptor.of(JAVA_LONG));
        if (h == null) return -1;
        try {
            return (long) h.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
