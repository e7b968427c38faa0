package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The same bad call on every backend (the CPU, and CUDA in F32 and F16 where it runs: a GPU or the
 * emulated device) is refused with the same exception and the same message, which names the op,
 * the argument and what is allowed; and calls one backend used to refuse although they are valid
 * (vector operands of matmul, the sum of a scalar) give the CPU's results everywhere.
 */
@SuppressWarnings("try")   // the scope is opened for its effect on the tensors made inside
class BackendArgumentChecksTest {
    record Bad(String name, Function<Backend, Object> call, Class<? extends RuntimeException> type, String message) {
        @Override public String toString() { return name; }
    }

    private static final BackendOpMatrixTest.Row CPU = new BackendOpMatrixTest.Row("cpu", DType.F32);
    private static final List<BackendOpMatrixTest.Row> ROWS = List.of(CPU,
            new BackendOpMatrixTest.Row("cuda", DType.F32), new BackendOpMatrixTest.Row("cuda", DType.F16));

    @AfterAll
    static void closeBackends() { BackendOpMatrixTest.closeBackends(); }

    private static Tensor z(Backend b, int... shape) { return b.zeros(shape); }

    private static Bad bad(String name, Function<Backend, Object> call, String message) {
        return new Bad(name, call, IllegalArgumentException.class, message);
    }

    static List<Bad> badCalls() {
        List<Bad> c = new ArrayList<>();
        c.add(bad("upload meta", b -> b.upload(Tensor.meta(DType.F32, 2, 3)),
                "upload: a meta tensor [2, 3] has no data (it comes from a shapes-only tree)"));
        c.add(bad("matmul rank 0", b -> b.matmul(b.upload(Tensor.scalar(1f)), z(b, 2)), "matmul: operands must have rank >= 1, got [] and [2]"));
        c.add(bad("matmul inner", b -> b.matmul(z(b, 2, 3), z(b, 2, 3)), "matmul: inner dimensions differ: [2, 3] @ [2, 3]"));
        c.add(bad("matmul batch", b -> b.matmul(z(b, 2, 2, 3), z(b, 3, 3, 1)),
                "matmul: batch dimensions of [2, 2, 3] and [3, 3, 1] do not broadcast"));
        c.add(bad("linear weight", b -> b.linear(z(b, 2, 4), z(b, 3, 5), null),
                "linear: weight [3, 5] does not take input [2, 4] (expected [out, 4])"));
        c.add(bad("linear bias", b -> b.linear(z(b, 2, 4), z(b, 3, 4), z(b, 4)), "linear: bias must be [3], got [4]"));
        c.add(bad("linear rank 0", b -> b.linear(b.upload(Tensor.scalar(1f)), z(b, 3, 1), null), "linear: input must be [..., in], got []"));
        c.add(bad("conv2d input", b -> b.conv2d(z(b, 1, 2, 3), z(b, 3, 2, 1, 1), null, 1, 0), "conv2d: input must be [N, C, H, W], got [1, 2, 3]"));
        c.add(bad("conv2d weight", b -> b.conv2d(z(b, 1, 2, 4, 4), z(b, 3, 5, 3, 3), null, 1, 1),
                "conv2d: weight [3, 5, 3, 3] does not take input [1, 2, 4, 4] (expected [O, 2, kh, kw])"));
        c.add(bad("conv2d stride", b -> b.conv2d(z(b, 1, 2, 4, 4), z(b, 3, 2, 3, 3), null, 0, 1), "conv2d: stride must be >= 1, got 0"));
        c.add(bad("conv2d padding", b -> b.conv2d(z(b, 1, 2, 4, 4), z(b, 3, 2, 3, 3), null, 1, -1), "conv2d: padding must be >= 0, got -1"));
        c.add(bad("conv2d bias", b -> b.conv2d(z(b, 1, 2, 4, 4), z(b, 3, 2, 3, 3), z(b, 2), 1, 1), "conv2d: bias must be [3], got [2]"));
        // (2 + 2 − 5) / 2 + 1 rounds to 1 in integer arithmetic: the kernel must not be let through
        c.add(bad("conv2d kernel", b -> b.conv2d(z(b, 1, 1, 2, 2), z(b, 1, 1, 5, 5), null, 2, 1),
                "conv2d: kernel 5x5 larger than padded input 4x4"));
        c.add(bad("groupNorm groups", b -> b.groupNorm(z(b, 1, 6, 2, 2), 4, z(b, 6), z(b, 6), 1e-5f, false),
                "groupNorm: 6 channels do not split into 4 groups"));
        c.add(bad("groupNorm gamma", b -> b.groupNorm(z(b, 1, 6, 2, 2), 3, z(b, 5), z(b, 6), 1e-5f, true),
                "groupNorm: gamma must be [6], got [5]"));
        c.add(bad("groupNorm input", b -> b.groupNorm(z(b, 6), 3, z(b, 6), z(b, 6), 1e-5f, false), "groupNorm: input must be [N, C, ...], got [6]"));
        c.add(bad("groupNormToTokens input", b -> b.groupNormToTokens(z(b, 2, 6, 10), 3, z(b, 6), z(b, 6), 1e-5f),
                "groupNormToTokens: input must be [N, C, h, w], got [2, 6, 10]"));
        c.add(bad("linearToImageAdd input", b -> b.linearToImageAdd(z(b, 6, 4), z(b, 3, 4), null, z(b, 1, 3, 2, 3)),
                "linearToImageAdd: input must be tokens [N, h·w, in], got [6, 4]"));
        c.add(bad("linearToImageAdd residual", b -> b.linearToImageAdd(z(b, 1, 6, 4), z(b, 3, 4), null, z(b, 1, 3, 2, 2)),
                "linearToImageAdd: residual [1, 3, 2, 2] must be [1, 3, h, w] with h·w = 6 tokens"));
        c.add(bad("layerNorm beta", b -> b.layerNorm(z(b, 2, 4), z(b, 4), z(b, 3), 1e-5f), "layerNorm: beta must be [4], got [3]"));
        c.add(bad("geglu odd", b -> b.geglu(z(b, 2, 3)), "geglu: the last dimension must be even, got [2, 3]"));
        c.add(bad("softmax rank 0", b -> b.softmax(b.upload(Tensor.scalar(1f))), "softmax: input must be [..., D], got []"));
        c.add(bad("attention rank", b -> b.attention(z(b, 2, 3, 4), z(b, 1, 2, 3, 4), z(b, 1, 2, 3, 4), false),
                "attention: q, k, v must be [B, H, S, D], got q [2, 3, 4], k [1, 2, 3, 4], v [1, 2, 3, 4]"));
        c.add(bad("attention k", b -> b.attention(z(b, 1, 2, 3, 4), z(b, 1, 2, 3, 8), z(b, 1, 2, 3, 4), true),
                "attention: k [1, 2, 3, 8] does not match q [1, 2, 3, 4] (batch, heads and head size)"));
        c.add(bad("attention v", b -> b.attention(z(b, 1, 2, 3, 4), z(b, 1, 2, 5, 4), z(b, 1, 2, 3, 4), false),
                "attention: v [1, 2, 3, 4] does not match k [1, 2, 5, 4] (batch, heads and length)"));
        c.add(bad("add broadcast", b -> b.add(z(b, 2, 3), z(b, 4)), "shapes [2, 3] and [4] do not broadcast"));
        c.add(bad("clamp", b -> b.clamp(z(b, 2), 2f, 1f), "clamp: min 2.0 must be <= max 1.0"));
        c.add(bad("concat nothing", b -> b.concat(0, List.of()), "concat: no tensors to concatenate"));
        c.add(bad("concat rank 0", b -> b.concat(0, b.upload(Tensor.scalar(1f))), "concat: rank-0 tensors cannot be concatenated"));
        c.add(bad("concat mismatch", b -> b.concat(0, z(b, 2, 3), z(b, 2, 4)), "concat: along dimension 0, [2, 4] does not match [2, 3]"));
        c.add(bad("split sum", b -> b.split(z(b, 5, 2), 0, 2, 2), "split: sizes [2, 2] do not add up to 5 (dimension 0 of [5, 2])"));
        c.add(bad("split negative", b -> b.split(z(b, 5, 2), 0, 6, -1), "split: sizes must be >= 0, got [6, -1]"));
        c.add(new Bad("narrow", b -> b.narrow(z(b, 5, 2), 0, 3, 3), IndexOutOfBoundsException.class,
                "narrow: [3, 6) is outside dimension 0 of [5, 2]"));
        c.add(bad("narrow dimension", b -> b.narrow(z(b, 5, 2), 2, 0, 1), "dimension 2 out of range for rank 2"));
        c.add(bad("permute repeats", b -> b.permute(z(b, 2, 3, 4), 0, -3, 1), "permute: [0, -3, 1] repeats dimension 0"));
        c.add(bad("permute length", b -> b.permute(z(b, 2, 3, 4), 1, 0), "permute: [1, 0] does not permute the 3 dimensions of [2, 3, 4]"));
        c.add(bad("upsample rank", b -> b.upsampleNearest2x(z(b, 2, 3, 4)), "upsampleNearest2x: input must be [N, C, H, W], got [2, 3, 4]"));
        c.add(bad("embedding table", b -> b.embedding(z(b, 2, 3, 4), new int[] {0}), "embedding: table must be [V, D], got [2, 3, 4]"));
        c.add(new Bad("embedding id", b -> b.embedding(z(b, 4, 3), new int[] {1, 4}), IndexOutOfBoundsException.class,
                "embedding: id 4 at position 1 is outside the table's 4 rows"));
        c.add(bad("sum dimension", b -> b.sum(z(b, 2, 3), 2, false), "dimension 2 out of range for rank 2"));
        c.add(bad("sum scalar dimension", b -> b.sum(b.upload(Tensor.scalar(1f)), 1, false), "sum: dimension 1 out of range for a rank-0 tensor"));
        c.add(bad("chunk", b -> b.chunk(z(b, 5, 2), 2, 0), "dimension 0 of size 5 does not split into 2"));
        return c;
    }

    static Stream<Arguments> rowsAndBadCalls() {
        List<Arguments> args = new ArrayList<>();
        for (BackendOpMatrixTest.Row row : ROWS) for (Bad c : badCalls()) args.add(Arguments.of(row, c));
        return args.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("rowsAndBadCalls")
    void everyBackendRefusesTheSameBadCallAlike(BackendOpMatrixTest.Row row, Bad c) {
        Backend b = BackendOpMatrixTest.backend(row);
        try (Backend.Scope scope = b.openScope()) {
            RuntimeException e = assertThrows(c.type(), () -> c.call().apply(b), row + " " + c);
            assertEquals(c.message(), e.getMessage(), row + " " + c);
        }
    }

    static Stream<BackendOpMatrixTest.Row> rows() { return ROWS.stream(); }

    /** numpy's vector operands of matmul and torch's sum of a scalar: valid calls, the CPU's results on every backend. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void validEdgeCallsGiveTheCpuResults(BackendOpMatrixTest.Row row) {
        Backend b = BackendOpMatrixTest.backend(row);
        try (Backend.Scope scope = b.openScope()) {
            Tensor v = b.fromFloats(new float[] {1, 2, 3}, 3), m = b.fromFloats(new float[] {1, 0, 0, 1, 2, -1}, 3, 2);
            Tensor mt = b.fromFloats(new float[] {1, 0, 2, 0, 1, -1}, 2, 3);
            assertArrayEquals(new int[] {2}, b.matmul(v, m).shape());
            assertArrayEquals(new float[] {7, -1}, b.matmul(v, m).toFloatArray(), row + " v @ m");
            assertArrayEquals(new float[] {7, -1}, b.matmul(mt, v).toFloatArray(), row + " m @ v");
            Tensor vv = b.matmul(v, v);
            assertArrayEquals(new int[0], vv.shape(), row + " v @ v is a scalar");
            assertEquals(14f, vv.toFloatArray()[0], row + " v @ v");
            Tensor s = b.sum(b.upload(Tensor.scalar(2.5f)), -1, false);
            assertArrayEquals(new int[0], s.shape());
            assertEquals(2.5f, s.toFloatArray()[0], row + " sum of a scalar");
        }
    }
}
