package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;

import static io.jdiffusion.tensor.testing.TensorAssert.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broadcast arithmetic, pointwise ops, shape ops and reductions against index-by-index loops. */
class CpuElementwiseShapeTest {
    private final CpuBackend cpu = CpuBackend.INSTANCE;

    interface Op { double apply(double a, double b); }

    /** Numpy broadcasting spelled out: align shapes right, index 0 along size-1 dimensions. */
    static Tensor naiveBroadcast(Tensor a, Tensor b, int[] outShape, Op op) {
        int[] as = a.shape(), bs = b.shape();
        float[] ad = a.toFloatArray(), bd = b.toFloatArray();
        int n = 1;
        for (int d : outShape) n *= d;
        float[] y = new float[n];
        for (int f = 0; f < n; f++) {
            int[] idx = Ref.unflat(outShape, f);
            int[] ai = new int[as.length], bi = new int[bs.length];
            for (int d = 0; d < as.length; d++) ai[d] = as[d] == 1 ? 0 : idx[d + outShape.length - as.length];
            for (int d = 0; d < bs.length; d++) bi[d] = bs[d] == 1 ? 0 : idx[d + outShape.length - bs.length];
            y[f] = (float) op.apply(ad[Ref.flat(as, ai)], bd[Ref.flat(bs, bi)]);
        }
        return Tensor.of(y, outShape);
    }

    @Test
    void broadcastArithmetic() {
        int[][][] cases = { // a, b, out
                {{2, 3, 4}, {2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}, {2, 3, 4}},
                {{2, 1, 4}, {1, 3, 1}, {2, 3, 4}}, {{}, {2, 3}, {2, 3}}, {{5}, {}, {5}}, {{1}, {3, 1}, {3, 1}},
                {{2, 3, 1, 4}, {3, 5, 1}, {2, 3, 5, 4}}, {{2, 4, 1, 1}, {2, 4, 6, 7}, {2, 4, 6, 7}}, {{}, {}, {}},
                {{3, 70, 80}, {70, 1}, {3, 70, 80}}, {{4, 1, 50}, {1, 60, 50}, {4, 60, 50}}, {{0, 3}, {3}, {0, 3}},
        };
        for (int[][] c : cases) {
            Tensor a = Ref.randn(c[0].length + 1, c[0]), b = Ref.randn(c[1].length + 20, c[1]);
            String w = Arrays.toString(c[0]) + " op " + Arrays.toString(c[1]);
            assertClose("add " + w, naiveBroadcast(a, b, c[2], Double::sum), cpu.add(a, b), 0);
            assertClose("sub " + w, naiveBroadcast(a, b, c[2], (x, y) -> x - y), cpu.sub(a, b), 0);
            assertClose("mul " + w, naiveBroadcast(a, b, c[2], (x, y) -> x * y), cpu.mul(a, b), 0);
            assertClose("div " + w, naiveBroadcast(a, b, c[2], (x, y) -> (float) x / (float) y), cpu.div(a, b), 0);
            assertClose("add reversed " + w, naiveBroadcast(b, a, c[2], Double::sum), cpu.add(b, a), 0);
        }
        assertClose("hand", Tensor.of(new float[] {11, 22, 13, 24}, 2, 2),
                cpu.add(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), Tensor.of(new float[] {10, 20}, 2)), 0);
        assertClose("hand div column", Tensor.of(new float[] {0.5f, 1, 1, 4f / 3}, 2, 2),
                cpu.div(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), Tensor.of(new float[] {2, 3}, 2, 1)), 0);
        assertThrows(IllegalArgumentException.class, () -> cpu.add(Tensor.zeros(2, 3), Tensor.zeros(2)));
        assertThrows(IllegalArgumentException.class, () -> cpu.mul(Tensor.zeros(4, 3), Tensor.zeros(2, 3, 1)));
    }

    @Test
    void affineClampScalars() {
        Tensor x = Tensor.of(new float[] {-2, -0.5f, 0, 1.5f, 3}, 5);
        assertClose("affine", Tensor.of(new float[] {-3, 0, 1, 4, 7}, 5), cpu.affine(x, 2f, 1f), 0);
        assertClose("addScalar", Tensor.of(new float[] {-1, 0.5f, 1, 2.5f, 4}, 5), cpu.addScalar(x, 1f), 0);
        assertClose("mulScalar", Tensor.of(new float[] {1, 0.25f, 0, -0.75f, -1.5f}, 5), cpu.mulScalar(x, -0.5f), 0);
        assertClose("clamp", Tensor.of(new float[] {-1, -0.5f, 0, 1, 1}, 5), cpu.clamp(x, -1f, 1f), 0);
        assertClose("clamp rank 0", Tensor.scalar(2f), cpu.clamp(Tensor.scalar(7f), -2f, 2f), 0);
        assertThrows(IllegalArgumentException.class, () -> cpu.clamp(x, 1f, -1f));
        Tensor big = Ref.randn(3, 3, 10000); // several parallel chunks
        float[] bd = big.floats(), e = new float[bd.length];
        for (int i = 0; i < e.length; i++) e[i] = bd[i] * 0.25f - 3f;
        assertClose("affine big", Tensor.of(e, 3, 10000), cpu.affine(big, 0.25f, -3f), 0);
    }

    /** x[i0, i1, i2] of a rank-3 tensor. */
    static float at(Tensor x, int... idx) { return x.toFloatArray()[Ref.flat(x.shape(), idx)]; }

    @Test
    void concatSplitChunkNarrowOnEveryDim() {
        Tensor x = Ref.randn(11, 2, 6, 4);
        float[] xd = x.floats();
        for (int d = 0; d < 3; d++) {
            for (int dim : new int[] {d, d - 3}) {
                int size = x.dim(d);
                // narrow: every start/length against direct indexing
                for (int start = 0; start < size; start++) {
                    for (int len = 0; start + len <= size; len++) {
                        Tensor nw = cpu.narrow(x, dim, start, len);
                        int[] s = x.shape();
                        s[d] = len;
                        assertArrayEquals(s, nw.shape());
                        float[] nd = nw.floats();
                        for (int f = 0; f < nd.length; f++) {
                            int[] idx = Ref.unflat(s, f);
                            idx[d] += start;
                            assertEquals(xd[Ref.flat(x.shape(), idx)], nd[f], "narrow dim " + dim + " [" + start + "+" + len + "]");
                        }
                    }
                }
                // split into uneven pieces and concatenate back
                int[] sizes = size == 2 ? new int[] {1, 1} : size == 6 ? new int[] {1, 0, 3, 2} : new int[] {3, 1};
                List<Tensor> parts = cpu.split(x, dim, sizes);
                assertEquals(sizes.length, parts.size());
                int at = 0;
                for (int p = 0; p < parts.size(); p++) {
                    assertClose("split dim " + dim + " part " + p, cpu.narrow(x, d, at, sizes[p]), parts.get(p), 0);
                    at += sizes[p];
                }
                assertClose("concat(split) dim " + dim, x, cpu.concat(dim, parts), 0);
                List<Tensor> chunks = cpu.chunk(x, 2, dim);
                assertClose("chunk dim " + dim, cpu.narrow(x, d, size / 2, size / 2), chunks.get(1), 0);
            }
        }
        // concat of different tensors, checked element by element
        Tensor a = Ref.randn(1, 2, 3), b = Ref.randn(2, 2, 1);
        Tensor c = cpu.concat(-1, a, b);
        assertArrayEquals(new int[] {2, 4}, c.shape());
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) assertEquals(at(a, i, j), at(c, i, j));
            assertEquals(at(b, i, 0), at(c, i, 3));
        }
        assertThrows(IllegalArgumentException.class, () -> cpu.concat(0, Tensor.zeros(2, 3), Tensor.zeros(2, 4)));
        assertThrows(IllegalArgumentException.class, () -> cpu.concat(3, Tensor.zeros(2, 3)));
        assertThrows(IllegalArgumentException.class, () -> cpu.split(x, 1, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> cpu.chunk(x, 4, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> cpu.narrow(x, 1, 5, 2));
    }

    @Test
    void permuteAndTranspose() {
        Tensor x = Ref.randn(21, 2, 3, 4);
        int[][] perms = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}, {-1, 0, -2}};
        for (int[] p : perms) {
            Tensor y = cpu.permute(x, p);
            int[] pp = Arrays.stream(p).map(v -> v < 0 ? v + 3 : v).toArray();
            assertArrayEquals(new int[] {x.dim(pp[0]), x.dim(pp[1]), x.dim(pp[2])}, y.shape());
            for (int i = 0; i < y.dim(0); i++)
                for (int j = 0; j < y.dim(1); j++)
                    for (int k = 0; k < y.dim(2); k++) {
                        int[] src = new int[3];
                        src[pp[0]] = i;
                        src[pp[1]] = j;
                        src[pp[2]] = k;
                        assertEquals(at(x, src), at(y, i, j, k), "permute " + Arrays.toString(p));
                    }
        }
        // [B, S, H, D] -> [B, H, S, D], the attention head split
        Tensor h = Ref.randn(22, 2, 5, 3, 4);
        Tensor t = cpu.transpose(h, 1, 2);
        assertArrayEquals(new int[] {2, 3, 5, 4}, t.shape());
        for (int f = 0; f < 120; f++) {
            int[] i = Ref.unflat(t.shape(), f);
            assertEquals(h.floats()[Ref.flat(h.shape(), i[0], i[2], i[1], i[3])], t.floats()[f]);
        }
        assertClose("transpose(-1, -2) twice", h, cpu.transpose(cpu.transpose(h, -1, -2), -2, -1), 0);
        assertClose("2-D transpose hand", Tensor.of(new float[] {1, 3, 2, 4}, 2, 2), cpu.transpose(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), 0, 1), 0);
        assertClose("rank 0", Tensor.scalar(5f), cpu.permute(Tensor.scalar(5f)), 0);
        assertThrows(IllegalArgumentException.class, () -> cpu.permute(x, 0, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> cpu.permute(x, 0, 1));
    }

    @Test
    void upsampleNearest2x() {
        Tensor hand = Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2);
        assertClose("hand", Tensor.of(new float[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 1, 1, 4, 4), cpu.upsampleNearest2x(hand), 0);
        Tensor x = Ref.randn(23, 2, 3, 5, 1);
        Tensor y = cpu.upsampleNearest2x(x);
        assertArrayEquals(new int[] {2, 3, 10, 2}, y.shape());
        for (int f = 0; f < y.numel(); f++) {
            int[] i = Ref.unflat(y.shape(), f);
            assertEquals(at(x, i[0], i[1], i[2] / 2, i[3] / 2), y.floats()[f]);
        }
        assertThrows(IllegalArgumentException.class, () -> cpu.upsampleNearest2x(Tensor.zeros(3, 4, 4)));
    }

    @Test
    void embeddingFromF32AndF16Tables() {
        Tensor table = Ref.randn(24, 10, 6);
        int[] ids = {3, 0, 9, 3};
        Tensor e = cpu.embedding(table, ids);
        assertArrayEquals(new int[] {4, 6}, e.shape());
        for (int i = 0; i < ids.length; i++) for (int j = 0; j < 6; j++) assertEquals(at(table, ids[i], j), at(e, i, j));
        float[] rounded = new float[60];
        Tensor half = Ref.halfTensor(DType.F16, table.floats(), rounded, 10, 6);
        Tensor eh = cpu.embedding(half, ids);
        for (int i = 0; i < ids.length; i++) for (int j = 0; j < 6; j++) assertEquals(rounded[ids[i] * 6 + j], at(eh, i, j));
        // a table that is a view (offset into its storage)
        Tensor view = half.slice(2, 10);
        assertEquals(rounded[5 * 6 + 1], at(cpu.embedding(view, new int[] {3}), 0, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> cpu.embedding(table, new int[] {10}));
        assertThrows(IndexOutOfBoundsException.class, () -> cpu.embedding(table, new int[] {-1}));
    }

    @Test
    void sumAndMean() {
        Tensor x = Ref.randn(25, 2, 3, 4);
        for (int d = 0; d < 3; d++) {
            for (boolean keep : new boolean[] {false, true}) {
                Tensor s = cpu.sum(x, d - 3, keep), m = cpu.mean(x, d, keep);
                int[] ks = x.shape();
                ks[d] = 1;
                float[] expected = new float[(int) x.numel() / x.dim(d)], mean = new float[expected.length];
                for (int f = 0; f < expected.length; f++) {
                    int[] idx = Ref.unflat(ks, f);
                    double acc = 0;
                    for (int j = 0; j < x.dim(d); j++) {
                        idx[d] = j;
                        acc += at(x, idx);
                    }
                    expected[f] = (float) acc;
                    mean[f] = (float) (acc / x.dim(d));
                }
                int[] os = ks;
                if (!keep) {
                    int[] dropped = new int[2];
                    for (int i = 0, j = 0; i < 3; i++) if (i != d) dropped[j++] = x.dim(i);
                    os = dropped;
                }
                assertClose("sum dim " + d + " keep " + keep, Tensor.of(expected, os), s, 1e-6);
                assertClose("mean dim " + d + " keep " + keep, Tensor.of(mean, os), m, 1e-6);
            }
        }
        Tensor v = Tensor.of(new float[] {1, 2, 3.5f}, 3);
        assertClose("rank 1 to rank 0", Tensor.scalar(6.5f), cpu.sum(v, 0, false), 0);
        assertArrayEquals(new int[0], cpu.sum(v, -1, false).shape());
        assertClose("mean keepdim", Tensor.of(new float[] {6.5f / 3}, 1), cpu.mean(v, 0, true), 0);
        assertClose("sum of rank 0", Tensor.scalar(4f), cpu.sum(Tensor.scalar(4f), 0, false), 0);
        assertThrows(IllegalArgumentException.class, () -> cpu.sum(x, 3, false));
    }

    /** F16 and BF16 tensors mapped from a file (at an offset) are read in place by every kind of op. */
    @Test
    void mappedHalfInputsAreReadInPlace(@TempDir Path dir) throws IOException {
        int n = 2 * 3 * 4 * 5;
        float[] values = Ref.random(26, n);
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            float[] rounded = new float[n];
            Tensor mem = Ref.halfTensor(dt, values, rounded, n);
            byte[] bytes = new byte[16 + 2 * n]; // 16 header bytes before the data, like a safetensors file
            MemorySegment.ofArray(bytes).asSlice(16).copyFrom(((SegmentStorage) mem.storage()).segment());
            Path file = dir.resolve("w-" + dt + ".bin");
            Files.write(file, bytes);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
                MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, bytes.length, arena);
                Tensor x = new Tensor(new SegmentStorage(mapped.asSlice(16), dt), 2, 3, 4, 5);
                Tensor ref = Tensor.of(rounded, 2, 3, 4, 5);
                assertClose(dt + " toFloatArray", ref, Tensor.of(x.toFloatArray(), 2, 3, 4, 5), 0);
                assertClose(dt + " add", cpu.add(ref, ref), cpu.add(x, x), 0);
                assertClose(dt + " silu", cpu.silu(ref), cpu.silu(x), 0);
                assertClose(dt + " permute", cpu.permute(ref, 3, 1, 0, 2), cpu.permute(x, 3, 1, 0, 2), 0);
                assertClose(dt + " narrow", cpu.narrow(ref, 2, 1, 2), cpu.narrow(x, 2, 1, 2), 0);
                assertClose(dt + " layerNorm", cpu.layerNorm(ref, null, null, 1e-5f), cpu.layerNorm(x, null, null, 1e-5f), 0);
                assertClose(dt + " matmul", cpu.matmul(ref, cpu.transpose(ref, 2, 3)), cpu.matmul(x, cpu.transpose(x, 2, 3)), 0);
                Tensor w = x.reshape(6, 4, 1, 5).slice(1, 4);   // a view at an element offset into the mapping
                Tensor wr = ref.reshape(6, 4, 1, 5).slice(1, 4);
                Tensor img = Ref.randn(27, 2, 4, 3, 6);
                assertClose(dt + " conv2d weight view", cpu.conv2d(img, wr, null, 1, 1), cpu.conv2d(img, w, null, 1, 1), 0);
                assertClose(dt + " sum", cpu.sum(ref, 1, false), cpu.sum(x, 1, false), 0);
                // a mapped weight is converted to F32 once, on upload (the budget is far above these 120 floats)
                Tensor up = cpu.upload(x);
                // (a rank-4 tensor is a convolution's weight: packed in the GEMM's panels, read as usual elsewhere)
                assertTrue(up.storage() instanceof PanelStorage, "CPU upload converts mapped tensors to F32 arrays");
                assertClose(dt + " upload", ref, up, 0);
                assertClose(dt + " mapped tensor still readable after upload", ref, Tensor.of(x.toFloatArray(), 2, 3, 4, 5), 0);
            }
        }
    }

    @Test
    void zerosFullUpload() {
        assertClose("full", Tensor.of(new float[] {2.5f, 2.5f, 2.5f}, 3), cpu.full(2.5f, 3), 0);
        assertClose("zeros", Tensor.of(new float[4], 2, 2), cpu.zeros(2, 2), 0);
        assertClose("fromFloats", Tensor.of(new float[] {1, 2}, 1, 2), cpu.fromFloats(new float[] {1, 2}, 1, 2), 0);
    }
}
