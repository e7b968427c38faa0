package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.cuda.Naive.T;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Every Backend op on every backend x storage dtype, against independent double-precision loops
 * ({@link Naive}) on the same dtype-rounded inputs, and, for device backends, against
 * {@link CpuBackend} too. CPU rows feed F16/BF16 inputs as mapped little-endian segments (the
 * path weights take); CUDA rows upload them and compute with results stored in that dtype.
 * CUDA rows are skipped (not failed) where no GPU, driver, NVRTC or cuBLAS is found, with the
 * reason in the skip message.
 */
@SuppressWarnings("try")   // scopes are opened for their effect on the tensors made inside
class BackendOpMatrixTest {
    record Row(String backend, DType dtype) {
        @Override public String toString() { return backend + "/" + dtype; }
    }

    record Case(String name, List<T> inputs, BiFunction<Backend, List<Tensor>, List<Tensor>> run,
                Function<List<T>, List<T>> reference, boolean deviceOnly) {
        @Override public String toString() { return name; }
    }

    /** |actual - expected| <= atol + rtol * |expected|, by the dtype results are stored in. */
    record Tolerance(double atol, double rtol) {}

    static Tolerance tolerance(DType stored) {
        return switch (stored) {
            case F32 -> new Tolerance(1e-4, 1e-4);
            case F16 -> new Tolerance(2e-3, 2e-3);       // half an ulp is 2^-11 relative; two roundings at most
            case BF16 -> new Tolerance(1e-2, 1.6e-2);    // half an ulp is 2^-8 relative
        };
    }

    private static final Map<DType, CudaBackend> CUDA = new EnumMap<>(DType.class);

    @AfterAll
    static void closeBackends() {
        CUDA.values().forEach(CudaBackend::close);
        CUDA.clear();
    }

    static Backend backend(Row row) {
        if (row.backend().equals("cpu")) return CpuBackend.INSTANCE;
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA row skipped: " + a.reason());
        return CUDA.computeIfAbsent(row.dtype(), dt -> CudaBackend.create(Backends.cudaDevice(), dt, 0));
    }

    static Stream<Arguments> matrix() {
        List<Case> cases = cases();
        List<Arguments> args = new ArrayList<>();
        for (String be : List.of("cpu", "cuda")) {
            for (DType dt : DType.values()) {
                for (Case c : cases) args.add(Arguments.of(new Row(be, dt), c));
            }
        }
        return args.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("matrix")
    void op(Row row, Case c) {
        if (c.deviceOnly()) Assumptions.assumeFalse(row.backend().equals("cpu"), "case " + c + " is about device storage");
        Backend b = backend(row);
        List<T> ins = c.inputs().stream().map(t -> round(t, row.dtype())).toList();
        List<float[]> got = new ArrayList<>();
        List<int[]> gotShapes = new ArrayList<>();
        try (Backend.Scope scope = b.openScope()) {
            List<Tensor> tensors = ins.stream().map(t -> tensor(b, row, t)).toList();
            for (Tensor out : c.run().apply(b, tensors)) {
                gotShapes.add(out.shape());
                got.add(out.toFloatArray());
            }
        }
        Tolerance tol = tolerance(b.computeType());
        List<T> expected = c.reference().apply(ins);
        check(row + " " + c + " vs naive", expected, got, gotShapes, tol);
        if (!row.backend().equals("cpu") && !c.deviceOnly()) {
            List<Tensor> cpuIns = ins.stream().map(t -> Tensor.of(t.data().clone(), t.shape())).toList();
            List<T> cpu = c.run().apply(CpuBackend.INSTANCE, cpuIns).stream().map(t -> new T(t.toFloatArray(), t.shape())).toList();
            check(row + " " + c + " vs CpuBackend", cpu, got, gotShapes, tol);
        }
    }

    private static void check(String what, List<T> expected, List<float[]> got, List<int[]> shapes, Tolerance tol) {
        Assertions.assertEquals(expected.size(), got.size(), what + ": number of results");
        for (int i = 0; i < got.size(); i++) {
            T e = expected.get(i);
            String w = what + (got.size() > 1 ? " result " + i : "");
            Assertions.assertArrayEquals(e.shape(), shapes.get(i), w + ": shape " + Arrays.toString(shapes.get(i)) + ", expected " + Arrays.toString(e.shape()));
            float[] a = got.get(i);
            int worst = -1;
            double worstExcess = 0;
            for (int j = 0; j < a.length; j++) {
                double err = Math.abs((double) a[j] - e.data()[j]), allowed = tol.atol() + tol.rtol() * Math.abs(e.data()[j]);
                if (!(err <= allowed) && (worst < 0 || err - allowed > worstExcess)) {
                    worst = j;
                    worstExcess = err - allowed;
                }
            }
            if (worst >= 0) {
                Assertions.fail(w + ": " + TensorAssert.diff(e.data(), a) + "; at [" + worst + "] expected " + e.data()[worst]
                        + ", got " + a[worst] + " (allowed " + tol + ")");
            }
        }
    }

    static T round(T t, DType dt) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) {
            d[i] = switch (dt) {
                case F32 -> d[i];
                case F16 -> DType.f16ToF32(DType.f32ToF16(d[i]));
                case BF16 -> DType.bf16ToF32(DType.f32ToBf16(d[i]));
            };
        }
        return new T(d, t.shape());
    }

    /** The input as the row stores it: CPU rows as heap F32 or mapped-style F16/BF16 segments, device rows uploaded. */
    static Tensor tensor(Backend b, Row row, T t) {
        Tensor host = Tensor.of(t.data().clone(), t.shape());
        if (!row.backend().equals("cpu")) return b.upload(host, row.dtype());
        if (row.dtype() == DType.F32) return host;
        MemorySegment seg = Arena.ofAuto().allocate(2L * t.data().length, 2);
        ValueLayout.OfShort le = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < t.data().length; i++) {
            seg.setAtIndex(le, i, row.dtype() == DType.F16 ? DType.f32ToF16(t.data()[i]) : DType.f32ToBf16(t.data()[i]));
        }
        return new Tensor(new SegmentStorage(seg, row.dtype()), 0, t.shape());
    }

    // ---- the cases ---------------------------------------------------------------------------

    private static final Random RNG = new Random(20261126);

    static T u(int... shape) {
        float[] d = new float[Naive.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = RNG.nextFloat() * 4 - 2;
        return new T(d, shape);
    }

    /** Values in [0.5, 2] with random sign: safe denominators. */
    static T away(int... shape) {
        float[] d = new float[Naive.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (0.5f + RNG.nextFloat() * 1.5f) * (RNG.nextBoolean() ? 1 : -1);
        return new T(d, shape);
    }

    static Case fused(int batch, int heads, int sq, int sk, int d) {
        return attention("attention fused b" + batch + "h" + heads + " " + sq + "x" + sk + " d" + d, false,
                u(batch, heads, sq, d), u(batch, heads, sk, d), u(batch, heads, sk, d));
    }

    /** attention(q, k, v, causal) on [B, H, S, D] inputs against the naive loops. */
    static Case attention(String name, boolean causal, T q, T k, T v) {
        return one(name, List.of(q, k, v), (b, t) -> b.attention(t.get(0), t.get(1), t.get(2), causal),
                t -> Naive.attention(t.get(0), t.get(1), t.get(2), causal));
    }

    /** attentionHeads on q [b, sq, width], k and v [b, sk, width] against the naive attention of the split heads. */
    static Case heads(String name, int b, int sq, int sk, int width, int heads) {
        return one(name, List.of(u(b, sq, width), u(b, sk, width), u(b, sk, width)),
                (be, t) -> be.attentionHeads(t.get(0), t.get(1), t.get(2), heads),
                t -> mergeHeads(Naive.attention(splitHeads(t.get(0), heads), splitHeads(t.get(1), heads), splitHeads(t.get(2), heads), false)));
    }

    /** The naive linearStack: slice g is linear(x, w[g]) without bias; shape [G, ..., out]. */
    static T linearStack(T x, T w) {
        int g = w.shape()[0], o = w.shape()[1], in = w.shape()[2];
        int rows = x.data().length / in;
        float[] out = new float[g * rows * o];
        for (int i = 0; i < g; i++) {
            T wi = new T(Arrays.copyOfRange(w.data(), i * o * in, (i + 1) * o * in), new int[] {o, in});
            System.arraycopy(Naive.linear(x, wi, null).data(), 0, out, i * rows * o, rows * o);
        }
        int[] s = new int[x.shape().length + 1];
        s[0] = g;
        System.arraycopy(x.shape(), 0, s, 1, x.shape().length - 1);
        s[s.length - 1] = o;
        return new T(out, s);
    }

    /** [B, S, H·D] → [B, H, S, D]. */
    static T splitHeads(T x, int heads) {
        int[] s = x.shape();
        return Naive.permute(new T(x.data(), new int[] {s[0], s[1], heads, s[2] / heads}), 0, 2, 1, 3);
    }

    /** [B, H, S, D] → [B, S, H·D]. */
    static T mergeHeads(T x) {
        int[] s = x.shape();
        return new T(Naive.permute(x, 0, 2, 1, 3).data(), new int[] {s[0], s[2], s[1] * s[3]});
    }

    static T scaled(T t, float s) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) d[i] *= s;
        return new T(d, t.shape());
    }

    /** conv2d (addend null) or conv2dAdd of x and w against the naive loops. */
    static Case conv(String name, T x, T w, T bias, int stride, int pad, T addend) {
        List<T> in = new ArrayList<>(Arrays.asList(x, w));
        if (bias != null) in.add(bias);
        if (addend != null) in.add(addend);
        boolean hasBias = bias != null;
        return one(name, in, (b, t) -> addend == null ? b.conv2d(t.get(0), t.get(1), hasBias ? t.get(2) : null, stride, pad)
                        : b.conv2dAdd(t.get(0), t.get(1), hasBias ? t.get(2) : null, stride, pad, t.getLast()),
                t -> {
                    T y = Naive.conv2d(t.get(0), t.get(1), hasBias ? t.get(2) : null, stride, pad);
                    return addend == null ? y : Naive.binary(y, t.getLast(), Double::sum);
                });
    }

    /**
     * The tensor as a view 3 values into a flat buffer, reshaped to its shape: no 16-byte alignment
     * in any dtype, so the kernels' unaligned (scalar) paths run. Its input is the shape's values
     * after 3 leading ones ({@link #skip3}).
     */
    static Tensor misaligned(Tensor flat, int... shape) { return flat.slice(3, flat.dim(0)).reshape(shape); }

    /** The reference's view of a {@link #misaligned} input. */
    static T skip3(T flat, int... shape) { return new T(Arrays.copyOfRange(flat.data(), 3, flat.data().length), shape); }

    /** groupNorm as tokens [N, h·w, C]. */
    static T groupNormTokens(T x, int groups, T g, T b, double eps) {
        int[] s = x.shape();
        return new T(Naive.permute(Naive.groupNorm(x, groups, g, b, eps, false), 0, 2, 3, 1).data(), new int[] {s[0], s[2] * s[3], s[1]});
    }

    /** linear of tokens [N, h·w, in] as an image [N, out, h, w] (h, w of the residual) plus the residual. */
    static T linearToImageAdd(T x, T w, T bias, T residual) {
        int[] r = residual.shape();
        T tokens = Naive.linear(x, w, bias);
        T image = Naive.permute(new T(tokens.data(), new int[] {r[0], r[2], r[3], r[1]}), 0, 3, 1, 2);
        return Naive.binary(image, residual, Double::sum);
    }

    static Case one(String name, List<T> in, BiFunction<Backend, List<Tensor>, Tensor> run, Function<List<T>, T> ref) {
        return new Case(name, in, (b, t) -> List.of(run.apply(b, t)), t -> List.of(ref.apply(t)), false);
    }

    static Case unary(String name, Function<Backend, Function<Tensor, Tensor>> op, Naive.Un f) {
        return one(name, List.of(u(4, 37)), (b, t) -> op.apply(b).apply(t.get(0)), t -> Naive.unary(t.get(0), f));
    }

    static List<Case> cases() {
        List<Case> c = new ArrayList<>();
        // ---- linear algebra
        c.add(one("matmul batched", List.of(u(2, 3, 5, 7), u(2, 3, 7, 4)), (b, t) -> b.matmul(t.get(0), t.get(1)), t -> Naive.matmul(t.get(0), t.get(1))));
        c.add(one("matmul shared right", List.of(u(3, 5, 7), u(7, 6)), (b, t) -> b.matmul(t.get(0), t.get(1)), t -> Naive.matmul(t.get(0), t.get(1))));
        c.add(one("matmul cross broadcast", List.of(u(2, 1, 4, 3), u(1, 3, 3, 5)), (b, t) -> b.matmul(t.get(0), t.get(1)), t -> Naive.matmul(t.get(0), t.get(1))));
        c.add(one("linear bias", List.of(u(2, 5, 24), u(16, 24), u(16)), (b, t) -> b.linear(t.get(0), t.get(1), t.get(2)),
                t -> Naive.linear(t.get(0), t.get(1), t.get(2))));
        c.add(one("linear no bias", List.of(u(7, 8), u(3, 8)), (b, t) -> b.linear(t.get(0), t.get(1), null), t -> Naive.linear(t.get(0), t.get(1), null)));
        c.add(one("linear odd sizes", List.of(u(3, 13), u(11, 13), u(11)), (b, t) -> b.linear(t.get(0), t.get(1), t.get(2)),
                t -> Naive.linear(t.get(0), t.get(1), t.get(2))));
        // residual added in the GEMM (cuBLASLt C with beta 1; the 13-wide rows take the cublasGemmEx path in 16 bits)
        c.add(one("linearAdd bias residual", List.of(u(2, 5, 24), u(16, 24), u(16), u(2, 5, 16)),
                (b, t) -> b.linearAdd(t.get(0), t.get(1), t.get(2), t.get(3)),
                t -> Naive.binary(Naive.linear(t.get(0), t.get(1), t.get(2)), t.get(3), Double::sum)));
        c.add(one("linearAdd odd sizes no bias", List.of(u(3, 13), u(11, 13), u(3, 11)), (b, t) -> b.linearAdd(t.get(0), t.get(1), null, t.get(2)),
                t -> Naive.binary(Naive.linear(t.get(0), t.get(1), null), t.get(2), Double::sum)));
        // G projections of one input in one strided-batched GEMM; the k/v half of a q/k/v stack (a view at an offset)
        c.add(one("linearStack qkv", List.of(u(2, 5, 24), u(3, 16, 24)), (b, t) -> b.linearStack(t.get(0), t.get(1)),
                t -> linearStack(t.get(0), t.get(1))));
        c.add(one("linearStack kv view odd sizes", List.of(u(3, 7, 13), u(3, 11, 13)), (b, t) -> b.linearStack(t.get(0), t.get(1).slice(1, 3)),
                t -> linearStack(t.get(0), new T(Arrays.copyOfRange(t.get(1).data(), 11 * 13, 3 * 11 * 13), new int[] {2, 11, 13}))));
        c.add(one("conv2d 3x3 pad 1 bias", List.of(u(2, 3, 9, 7), u(5, 3, 3, 3), u(5)), (b, t) -> b.conv2d(t.get(0), t.get(1), t.get(2), 1, 1),
                t -> Naive.conv2d(t.get(0), t.get(1), t.get(2), 1, 1)));
        c.add(one("conv2d 3x3 stride 2", List.of(u(1, 4, 8, 8), u(6, 4, 3, 3)), (b, t) -> b.conv2d(t.get(0), t.get(1), null, 2, 1),
                t -> Naive.conv2d(t.get(0), t.get(1), null, 2, 1)));
        c.add(one("conv2d 1x1 bias", List.of(u(2, 6, 5, 4), u(3, 6, 1, 1), u(3)), (b, t) -> b.conv2d(t.get(0), t.get(1), t.get(2), 1, 0),
                t -> Naive.conv2d(t.get(0), t.get(1), t.get(2), 1, 0)));
        c.add(one("conv2d 2x2 no pad", List.of(u(1, 2, 6, 5), u(3, 2, 2, 2), u(3)), (b, t) -> b.conv2d(t.get(0), t.get(1), t.get(2), 1, 0),
                t -> Naive.conv2d(t.get(0), t.get(1), t.get(2), 1, 0)));
        // a resnet's final add in the convolution's bias pass (3 images: one im2col and one strided-batched GEMM for all)
        c.add(one("conv2dAdd 3x3 bias residual", List.of(u(3, 4, 7, 6), u(5, 4, 3, 3), u(5), u(3, 5, 7, 6)),
                (b, t) -> b.conv2dAdd(t.get(0), t.get(1), t.get(2), 1, 1, t.get(3)),
                t -> Naive.binary(Naive.conv2d(t.get(0), t.get(1), t.get(2), 1, 1), t.get(3), Double::sum)));
        // a resnet's time embedding: one addend per image and channel [N, O, 1, 1]
        c.add(one("conv2dAdd 3x3 per-channel addend", List.of(u(2, 3, 5, 6), u(4, 3, 3, 3), u(4), u(2, 4, 1, 1)),
                (b, t) -> b.conv2dAdd(t.get(0), t.get(1), t.get(2), 1, 1, t.get(3)),
                t -> Naive.binary(Naive.conv2d(t.get(0), t.get(1), t.get(2), 1, 1), t.get(3), Double::sum)));
        // ---- implicit-GEMM convolution (conv_mma.cu on the F16/BF16 CUDA rows; F32 rows keep im2col + cuBLAS): tiles of
        // 64 channels x 64 pixels, K in slices of 32; K = C·kh·kw not a multiple of 8 or 16 (4 and 9 input channels: conv_in
        // and the inpainting UNet's), odd sides, channel and pixel counts that leave ragged tiles, 16-byte weight loads
        c.add(conv("conv2d 3x3 pad 1 9->40 7x5 (K 81)", u(2, 9, 7, 5), u(40, 9, 3, 3), u(40), 1, 1, null));
        c.add(conv("conv2d 3x3 stride 2 4->70 9x7 (K 36)", u(1, 4, 9, 7), u(70, 4, 3, 3), u(70), 2, 1, null));
        c.add(conv("conv2d 3x3 stride 2 64->64 9x9 (downsampler)", u(2, 64, 9, 9), scaled(u(64, 64, 3, 3), 0.1f), u(64), 2, 1, null));
        c.add(conv("conv2d 3x3 8->5 11x13 (3 pixel tiles, 2 images)", u(2, 8, 11, 13), u(5, 8, 3, 3), null, 1, 1, null));
        c.add(conv("conv2d 1x1 72->136 7x5", u(2, 72, 7, 5), scaled(u(136, 72, 1, 1), 0.25f), u(136), 1, 0, null));
        // SDXL's deepest resnets at full channel counts on 3x3 and 4x4 images (weights scaled as trained ones are: outputs of order 1):
        // conv1 of an up-block resnet with the time-embedding addend, conv2 with the shortcut as full residual
        c.add(conv("conv2dAdd 3x3 2560->1280 3x3 [N,O,1,1] addend", u(1, 2560, 3, 3), scaled(u(1280, 2560, 3, 3), 0.01f), u(1280), 1, 1,
                u(1, 1280, 1, 1)));
        c.add(conv("conv2dAdd 3x3 1280->1280 4x4 residual", u(1, 1280, 4, 4), scaled(u(1280, 1280, 3, 3), 0.015f), u(1280), 1, 1,
                u(1, 1280, 4, 4)));
        c.add(one("conv2dAdd 1x1 no bias", List.of(u(2, 6, 5, 4), u(3, 6, 1, 1), u(2, 3, 5, 4)),
                (b, t) -> b.conv2dAdd(t.get(0), t.get(1), null, 1, 0, t.get(2)),
                t -> Naive.binary(Naive.conv2d(t.get(0), t.get(1), null, 1, 0), t.get(2), Double::sum)));
        // the bias pass by packs of 8: planes of 16 pixels (one bias and one addend per pack), and 16 bias values per row
        // (the 13-wide input takes cublasGemmEx in 16 bits, then the bias kernel)
        c.add(one("conv2dAdd 1x1 per-channel addend, packed bias pass", List.of(u(2, 6, 4, 4), u(3, 6, 1, 1), u(3), u(2, 3, 1, 1)),
                (b, t) -> b.conv2dAdd(t.get(0), t.get(1), t.get(2), 1, 0, t.get(3)),
                t -> Naive.binary(Naive.conv2d(t.get(0), t.get(1), t.get(2), 1, 0), t.get(3), Double::sum)));
        c.add(one("linear odd input, packed bias rows", List.of(u(3, 13), u(16, 13), u(16)), (b, t) -> b.linear(t.get(0), t.get(1), t.get(2)),
                t -> Naive.linear(t.get(0), t.get(1), t.get(2))));
        // Transformer2DModel's proj_out: tokens → image, bias and residual in one pass (SDXL's 640 wide; odd sizes; no bias)
        c.add(one("linearToImageAdd sdxl width", List.of(u(2, 16, 640), scaled(u(640, 640), 0.05f), u(640), u(2, 640, 4, 4)),
                (b, t) -> b.linearToImageAdd(t.get(0), t.get(1), t.get(2), t.get(3)), t -> linearToImageAdd(t.get(0), t.get(1), t.get(2), t.get(3))));
        c.add(one("linearToImageAdd odd sizes", List.of(u(2, 15, 13), u(5, 13), u(5), u(2, 5, 3, 5)),
                (b, t) -> b.linearToImageAdd(t.get(0), t.get(1), t.get(2), t.get(3)), t -> linearToImageAdd(t.get(0), t.get(1), t.get(2), t.get(3))));
        c.add(one("linearToImageAdd no bias misaligned residual", List.of(u(1, 6, 8), u(8, 8), u(3 + 48)),
                (b, t) -> b.linearToImageAdd(t.get(0), t.get(1), null, misaligned(t.get(2), 1, 8, 2, 3)),
                t -> linearToImageAdd(t.get(0), t.get(1), null, skip3(t.get(2), 1, 8, 2, 3))));
        // ---- normalisation
        c.add(one("groupNorm", List.of(u(2, 8, 5, 3), u(8), u(8)), (b, t) -> b.groupNorm(t.get(0), 4, t.get(1), t.get(2), 1e-5f, false),
                t -> Naive.groupNorm(t.get(0), 4, t.get(1), t.get(2), 1e-5, false)));
        c.add(one("groupNorm+silu", List.of(scaled(u(2, 8, 5, 3), 3), u(8), u(8)), (b, t) -> b.groupNorm(t.get(0), 2, t.get(1), t.get(2), 1e-6f, true),
                t -> Naive.groupNorm(t.get(0), 2, t.get(1), t.get(2), 1e-6, true)));
        // groups above CudaBackend.GROUP_NORM_SPLIT_ABOVE values: split statistics; 16-byte vectors, then scalar (odd spatial size)
        c.add(one("groupNorm split vectorised", List.of(scaled(u(1, 64, 48, 48), 3), u(64), u(64)),
                (b, t) -> b.groupNorm(t.get(0), 4, t.get(1), t.get(2), 1e-5f, true), t -> Naive.groupNorm(t.get(0), 4, t.get(1), t.get(2), 1e-5, true)));
        c.add(one("groupNorm split scalar", List.of(u(2, 6, 57, 61), u(6), u(6)),
                (b, t) -> b.groupNorm(t.get(0), 2, t.get(1), t.get(2), 1e-6f, false), t -> Naive.groupNorm(t.get(0), 2, t.get(1), t.get(2), 1e-6, false)));
        c.add(one("groupNorm rank 3", List.of(u(2, 6, 10), u(6), u(6)), (b, t) -> b.groupNorm(t.get(0), 3, t.get(1), t.get(2), 1e-5f, true),
                t -> Naive.groupNorm(t.get(0), 3, t.get(1), t.get(2), 1e-5, true)));
        c.add(one("groupNorm split misaligned view", List.of(u(3 + 4 * 80 * 80), u(4), u(4)),
                (b, t) -> b.groupNorm(misaligned(t.get(0), 1, 4, 80, 80), 2, t.get(1), t.get(2), 1e-5f, true),
                t -> Naive.groupNorm(skip3(t.get(0), 1, 4, 80, 80), 2, t.get(1), t.get(2), 1e-5, true)));
        // SDXL's widest GroupNorm (32 groups of 80 channels) at a small spatial size
        c.add(one("groupNorm+silu sdxl 2560 channels 4x4", List.of(scaled(u(2, 2560, 4, 4), 3), u(2560), u(2560)),
                (b, t) -> b.groupNorm(t.get(0), 32, t.get(1), t.get(2), 1e-5f, true), t -> Naive.groupNorm(t.get(0), 32, t.get(1), t.get(2), 1e-5, true)));
        // down_blocks.2's first norm at 1024² (640 channels at 32²): the split path with SDXL's group size
        c.add(one("groupNorm+silu split sdxl 640 channels 32x32", List.of(scaled(u(1, 640, 32, 32), 3), u(640), u(640)),
                (b, t) -> b.groupNorm(t.get(0), 32, t.get(1), t.get(2), 1e-5f, true), t -> Naive.groupNorm(t.get(0), 32, t.get(1), t.get(2), 1e-5, true)));
        // the norm writing the tokens' layout [N, h·w, C]: one block per group; split (through a shared tile of channels x
        // pixels), with even and odd sizes; unaligned; a tile too large for a launch's shared memory (the norm, then a permute)
        c.add(one("groupNormToTokens sdxl 1280 channels 4x4", List.of(u(2, 1280, 4, 4), u(1280), u(1280)),
                (b, t) -> b.groupNormToTokens(t.get(0), 32, t.get(1), t.get(2), 1e-6f), t -> groupNormTokens(t.get(0), 32, t.get(1), t.get(2), 1e-6)));
        c.add(one("groupNormToTokens split 16 channels 48x48", List.of(scaled(u(2, 16, 48, 48), 3), u(16), u(16)),
                (b, t) -> b.groupNormToTokens(t.get(0), 4, t.get(1), t.get(2), 1e-6f), t -> groupNormTokens(t.get(0), 4, t.get(1), t.get(2), 1e-6)));
        c.add(one("groupNormToTokens split odd sizes", List.of(u(1, 6, 57, 61), u(6), u(6)),
                (b, t) -> b.groupNormToTokens(t.get(0), 2, t.get(1), t.get(2), 1e-6f), t -> groupNormTokens(t.get(0), 2, t.get(1), t.get(2), 1e-6)));
        c.add(one("groupNormToTokens tile too large", List.of(u(1, 12300, 1, 1), u(12300), u(12300)),
                (b, t) -> b.groupNormToTokens(t.get(0), 1, t.get(1), t.get(2), 1e-5f), t -> groupNormTokens(t.get(0), 1, t.get(1), t.get(2), 1e-5)));
        c.add(one("groupNormToTokens misaligned view", List.of(u(3 + 2 * 8 * 5 * 3), u(8), u(8)),
                (b, t) -> b.groupNormToTokens(misaligned(t.get(0), 2, 8, 5, 3), 4, t.get(1), t.get(2), 1e-5f),
                t -> groupNormTokens(skip3(t.get(0), 2, 8, 5, 3), 4, t.get(1), t.get(2), 1e-5)));
        c.add(one("layerNorm", List.of(u(3, 4, 33), u(33), u(33)), (b, t) -> b.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5f),
                t -> Naive.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5)));
        c.add(one("layerNorm no beta wide", List.of(u(2, 300), u(300)), (b, t) -> b.layerNorm(t.get(0), t.get(1), null, 1e-5f),
                t -> Naive.layerNorm(t.get(0), t.get(1), null, 1e-5)));
        // rows of a multiple of 8: 8 values per load where aligned (SDXL's 1280), value by value in a misaligned view
        c.add(one("layerNorm sdxl 1280 packed", List.of(u(3, 1280), u(1280), u(1280)), (b, t) -> b.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5f),
                t -> Naive.layerNorm(t.get(0), t.get(1), t.get(2), 1e-5)));
        c.add(one("layerNorm misaligned view", List.of(u(3 + 2 * 64), u(64), u(64)),
                (b, t) -> b.layerNorm(misaligned(t.get(0), 2, 64), t.get(1), t.get(2), 1e-5f),
                t -> Naive.layerNorm(skip3(t.get(0), 2, 64), t.get(1), t.get(2), 1e-5)));
        // ---- activations
        c.add(unary("silu", b -> b::silu, v -> v * Naive.sigmoid(v)));
        c.add(unary("gelu", b -> b::gelu, Naive::gelu));
        c.add(unary("quickGelu", b -> b::quickGelu, v -> v * Naive.sigmoid(1.702 * v)));
        c.add(unary("exp", b -> b::exp, Math::exp));
        c.add(unary("affine", b -> x -> b.affine(x, 1.5f, -0.25f), v -> v * 1.5f - 0.25f));
        c.add(unary("addScalar", b -> x -> b.addScalar(x, 0.75f), v -> v + 0.75f));
        c.add(unary("mulScalar", b -> x -> b.mulScalar(x, -3f), v -> v * -3f));
        c.add(unary("clamp", b -> x -> b.clamp(x, -0.5f, 0.7f), v -> Math.min(Math.max(v, -0.5), 0.7)));
        c.add(one("geglu", List.of(u(3, 5, 18)), (b, t) -> b.geglu(t.get(0)), t -> Naive.geglu(t.get(0))));
        c.add(one("geglu packed", List.of(u(3, 5, 32)), (b, t) -> b.geglu(t.get(0)), t -> Naive.geglu(t.get(0))));
        c.add(one("geglu packed misaligned view", List.of(u(3 + 2 * 32)), (b, t) -> b.geglu(misaligned(t.get(0), 2, 32)),
                t -> Naive.geglu(skip3(t.get(0), 2, 32))));
        c.add(one("silu misaligned view odd length", List.of(u(3 + 37)), (b, t) -> b.silu(misaligned(t.get(0), 37)),
                t -> Naive.unary(skip3(t.get(0), 37), v -> v * Naive.sigmoid(v))));
        c.add(one("softmax", List.of(scaled(u(6, 45), 3)), (b, t) -> b.softmax(t.get(0)), t -> Naive.softmax(t.get(0))));
        c.add(one("softmax long rows", List.of(scaled(u(2, 3, 2, 700), 4)), (b, t) -> b.softmax(t.get(0)), t -> Naive.softmax(t.get(0))));
        // ---- attention: head sizes in each kernel bucket, uneven tiles, causal
        c.add(attention("attention d40", false, u(2, 3, 37, 40), u(2, 3, 45, 40), u(2, 3, 45, 40)));
        c.add(attention("attention causal d24", true, u(1, 2, 50, 24), u(1, 2, 50, 24), u(1, 2, 50, 24)));
        c.add(attention("attention causal sq<sk d64", true, u(1, 2, 20, 64), u(1, 2, 33, 64), u(1, 2, 33, 64)));
        c.add(attention("attention d80", false, u(1, 2, 19, 80), u(1, 2, 70, 80), u(1, 2, 70, 80)));
        c.add(attention("attention d160 dv96", false, u(1, 1, 20, 160), u(1, 1, 33, 160), u(1, 1, 33, 96)));
        // the SDXL VAE's mid-block attention: one head of 512 (the register-resident query kernel), uneven tiles, causal
        c.add(attention("attention d512", false, u(1, 1, 21, 512), u(1, 1, 19, 512), u(1, 1, 19, 512)));
        c.add(attention("attention causal d320", true, u(2, 1, 18, 320), u(2, 1, 18, 320), u(2, 1, 18, 320)));
        c.add(attention("attention sharp d8", false, scaled(u(2, 2, 9, 8), 4), scaled(u(2, 2, 100, 8), 4), u(2, 2, 100, 8)));
        // ---- tensor-core attention (flash_mma.cu on the F16/BF16 CUDA rows; F32 rows keep the CUDA-core kernel):
        // head sizes 64/80/128, lengths 1, 7, 77, 1024+13 and 4096 (77 and 1037 are multiples of no tile),
        // batch×heads 1 and 20, SDXL's cross-attention (4096 queries, 77 keys)
        c.add(fused(2, 10, 1, 1, 64));
        c.add(fused(4, 5, 7, 77, 128));
        c.add(fused(1, 1, 77, 77, 80));
        c.add(fused(1, 1, 1037, 1037, 80));
        c.add(fused(1, 1, 4096, 77, 64));
        c.add(fused(1, 1, 7, 4096, 128));
        // the same kernel reading the projections' [B, S, H·D] layout in place
        c.add(heads("attentionHeads [B,S,H·D] bh20 d64 33x77", 2, 33, 77, 640, 10));
        c.add(heads("attentionHeads [B,S,H·D] d80 fallback on F32 13x7", 1, 13, 7, 160, 2));
        // ---- elementwise binary
        c.add(one("add", List.of(u(3, 4, 5), u(3, 4, 5)), (b, t) -> b.add(t.get(0), t.get(1)), t -> Naive.binary(t.get(0), t.get(1), Double::sum)));
        c.add(one("mul one operand misaligned", List.of(u(3 + 41), u(41)), (b, t) -> b.mul(misaligned(t.get(0), 41), t.get(1)),
                t -> Naive.binary(skip3(t.get(0), 41), t.get(1), (x, y) -> x * y)));
        c.add(one("add broadcast", List.of(u(2, 3, 4, 5), u(4, 1)), (b, t) -> b.add(t.get(0), t.get(1)), t -> Naive.binary(t.get(0), t.get(1), Double::sum)));
        c.add(one("sub broadcast", List.of(u(5), u(2, 3, 5)), (b, t) -> b.sub(t.get(0), t.get(1)), t -> Naive.binary(t.get(0), t.get(1), (x, y) -> x - y)));
        c.add(one("mul outer", List.of(u(3, 1, 5), u(1, 4, 1)), (b, t) -> b.mul(t.get(0), t.get(1)), t -> Naive.binary(t.get(0), t.get(1), (x, y) -> x * y)));
        c.add(one("div", List.of(u(2, 6), away(6)), (b, t) -> b.div(t.get(0), t.get(1)), t -> Naive.binary(t.get(0), t.get(1), (x, y) -> x / y)));
        c.add(one("add host operand", List.of(u(3, 4)), (b, t) -> b.add(t.get(0), Tensor.of(new float[] {0.5f, -1f, 2f, 0.25f}, 4)),
                t -> Naive.binary(t.get(0), new T(new float[] {0.5f, -1f, 2f, 0.25f}, new int[] {4}), Double::sum)));
        // ---- shape
        c.add(one("concat dim 1", List.of(u(2, 3, 4), u(2, 5, 4), u(2, 1, 4)), (b, t) -> b.concat(1, t),
                t -> Naive.concat(1, t.toArray(T[]::new))));
        c.add(one("concat dim 0", List.of(u(2, 3), u(1, 3)), (b, t) -> b.concat(0, t), t -> Naive.concat(0, t.toArray(T[]::new))));
        c.add(one("concat last", List.of(u(2, 2, 3), u(2, 2, 4)), (b, t) -> b.concat(-1, t), t -> Naive.concat(-1, t.toArray(T[]::new))));
        c.add(new Case("split", List.of(u(4, 9)), (b, t) -> b.split(t.get(0), 1, 2, 3, 4),
                t -> List.of(Naive.narrow(t.get(0), 1, 0, 2), Naive.narrow(t.get(0), 1, 2, 3), Naive.narrow(t.get(0), 1, 5, 4)), false));
        c.add(new Case("chunk", List.of(u(2, 12, 3)), (b, t) -> b.chunk(t.get(0), 3, 1),
                t -> List.of(Naive.narrow(t.get(0), 1, 0, 4), Naive.narrow(t.get(0), 1, 4, 4), Naive.narrow(t.get(0), 1, 8, 4)), false));
        c.add(one("narrow middle", List.of(u(3, 10, 4)), (b, t) -> b.narrow(t.get(0), 1, 2, 5), t -> Naive.narrow(t.get(0), 1, 2, 5)));
        c.add(one("narrow last", List.of(u(3, 10, 4)), (b, t) -> b.narrow(t.get(0), -1, 1, 2), t -> Naive.narrow(t.get(0), 2, 1, 2)));
        c.add(one("permute 0213", List.of(u(2, 3, 4, 5)), (b, t) -> b.permute(t.get(0), 0, 2, 1, 3), t -> Naive.permute(t.get(0), 0, 2, 1, 3)));
        c.add(one("permute 3102", List.of(u(2, 3, 4, 5)), (b, t) -> b.permute(t.get(0), 3, 1, 0, 2), t -> Naive.permute(t.get(0), 3, 1, 0, 2)));
        c.add(one("transpose", List.of(u(3, 4, 6)), (b, t) -> b.transpose(t.get(0), -1, -2), t -> Naive.permute(t.get(0), 0, 2, 1)));
        c.add(one("upsampleNearest2x", List.of(u(2, 3, 4, 5)), (b, t) -> b.upsampleNearest2x(t.get(0)), t -> Naive.upsample2x(t.get(0))));
        c.add(one("embedding", List.of(u(11, 6)), (b, t) -> b.embedding(t.get(0), new int[] {3, 0, 10, 3}),
                t -> Naive.embedding(t.get(0), new int[] {3, 0, 10, 3})));
        c.add(one("sum dim 1", List.of(u(3, 4, 5)), (b, t) -> b.sum(t.get(0), 1, false), t -> Naive.sum(t.get(0), 1, false, false)));
        c.add(one("sum last keepdim", List.of(u(3, 4, 5)), (b, t) -> b.sum(t.get(0), -1, true), t -> Naive.sum(t.get(0), 2, true, false)));
        c.add(one("mean dim 0", List.of(u(6, 7)), (b, t) -> b.mean(t.get(0), 0, false), t -> Naive.sum(t.get(0), 0, false, true)));
        // ---- creation, views, movement
        c.add(one("zeros", List.of(), (b, t) -> b.zeros(2, 3), t -> new T(new float[6], new int[] {2, 3})));
        c.add(one("full", List.of(), (b, t) -> b.full(1.5f, 3, 2), t -> new T(new float[] {1.5f, 1.5f, 1.5f, 1.5f, 1.5f, 1.5f}, new int[] {3, 2})));
        c.add(one("full packed", List.of(), (b, t) -> b.full(-0.75f, 5, 7), t -> {
            float[] d = new float[35];
            Arrays.fill(d, -0.75f);
            return new T(d, new int[] {5, 7});
        }));
        c.add(one("fromFloats", List.of(), (b, t) -> b.fromFloats(new float[] {1, -2, 0.5f, 4}, 2, 2),
                t -> new T(new float[] {1, -2, 0.5f, 4}, new int[] {2, 2})));
        c.add(one("gelu of a slice view", List.of(u(4, 6)), (b, t) -> b.gelu(t.get(0).slice(1, 3)), t -> Naive.unary(Naive.narrow(t.get(0), 0, 1, 2), Naive::gelu)));
        c.add(one("softmax of a reshape view", List.of(u(3, 4, 5)), (b, t) -> b.softmax(t.get(0).reshape(6, 10)),
                t -> Naive.softmax(new T(t.get(0).data(), new int[] {6, 10}))));
        c.add(new Case("upload converts on device", List.of(u(5, 3)),
                (b, t) -> List.of(b.upload(t.get(0), DType.F32), b.upload(t.get(0), DType.F16), b.upload(t.get(0), DType.BF16)),
                t -> List.of(t.get(0), round(t.get(0), DType.F16), round(t.get(0), DType.BF16)), true));
        // casts of device tensors to F32 (F16/BF16 rows): a whole one (packs of 8, a tail of 3) and a misaligned view
        c.add(new Case("upload converts device tensors and views", List.of(u(35)),
                (b, t) -> List.of(b.upload(t.get(0), DType.F32), b.upload(misaligned(t.get(0), 32), DType.F32)),
                t -> List.of(t.get(0), skip3(t.get(0), 32)), true));
        return c;
    }
}
