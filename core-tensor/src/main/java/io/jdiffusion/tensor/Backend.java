package io.jdiffusion.tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Every operation the SDXL models need. Inputs may live in any storage the backend can read
 * (CPU backends read mapped F16/BF16 weights in place); results are new tensors in the backend's
 * own memory, in its compute dtype ({@link #computeType()}). Layouts follow PyTorch: activations
 * NCHW or [batch, tokens, channels], linear weights [out, in], conv weights [out, in, kh, kw].
 *
 * <p>Memory: tensors made inside a {@link #openScope() scope} are released when the scope closes,
 * except those passed to {@link Scope#keep}. The CPU backend's scope is a no-op (the GC owns heap
 * tensors); device backends rely on it, so model code opens one per forward pass.
 *
 * <p>Arguments: an implementation checks each op's arguments with {@link OpChecks} before it
 * computes, so every backend refuses the same bad call with the same message.
 */
public interface Backend extends AutoCloseable {
    /** A short name for logs: "cpu", "cuda". */
    String name();

    Device device();

    /** The dtype results are stored in. */
    DType computeType();

    /**
     * This backend with results stored in {@code dtype} (same device, memory and scopes; e.g. the
     * SDXL VAE in F32 beside an F16 UNet). Itself when it already computes in {@code dtype}.
     */
    default Backend withComputeType(DType dtype) {
        if (dtype == computeType()) return this;
        throw new UnsupportedOperationException("the " + name() + " backend stores results in " + computeType() + " only, not " + dtype);
    }

    // ---- moving data -------------------------------------------------------------------------

    /** This tensor in this backend's memory, converted to {@code dtype}; returned as is when already so. */
    Tensor upload(Tensor t, DType dtype);

    default Tensor upload(Tensor t) { return upload(t, computeType()); }

    /** A tensor of this backend holding {@code data}. */
    default Tensor fromFloats(float[] data, int... shape) { return upload(Tensor.of(data, shape)); }

    Tensor zeros(int... shape);

    Tensor full(float value, int... shape);

    // ---- linear algebra ----------------------------------------------------------------------

    /** a[..., M, K] @ b[..., K, N]; batch dimensions broadcast (equal, or 1 on one side). */
    Tensor matmul(Tensor a, Tensor b);

    /** x[..., in] @ w[out, in]^T + bias[out]; bias may be null. */
    Tensor linear(Tensor x, Tensor w, Tensor bias);

    /**
     * {@code linear(x, w, bias) + residual}, residual of the result's shape: the projection that ends
     * a residual branch. A device backend adds the residual in the GEMM's epilogue (one launch);
     * the default is the two ops, so a backend that does not fuse computes exactly what it did before.
     */
    default Tensor linearAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        OpChecks.linearAdd(x, w, bias, residual);
        return add(linear(x, w, bias), residual);
    }

    /**
     * {@code linear(x, w, bias)} of tokens x[N, h·w, in] turned back into an image [N, out, h, w], plus
     * the residual of that shape: a Transformer2DModel's proj_out, layout change and final add. A
     * device writes the GEMM's result in the image layout and adds bias and residual in one pass;
     * the default is the three ops.
     */
    default Tensor linearToImageAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        int[] s = OpChecks.linearToImageAdd(x, w, bias, residual);
        Tensor tokens = linear(x, w, bias);
        return add(permute(tokens.reshape(s[0], s[2], s[3], s[1]), 0, 3, 1, 2), residual);
    }

    /**
     * x[..., in] through G weight matrices at once, w[G, out, in] → [G, ..., out] (slice g is
     * {@code linear(x, w[g], null)}): the q/k/v projections of one input in one GEMM on a device.
     * The default is G linears.
     */
    default Tensor linearStack(Tensor x, Tensor w) {
        int[] shape = OpChecks.linearStack(x, w);
        List<Tensor> parts = new ArrayList<>(w.dim(0));
        for (int g = 0; g < w.dim(0); g++) {
            Tensor y = linear(x, w.get(g), null);
            int[] one = y.shape();
            int[] lead = new int[one.length + 1];
            lead[0] = 1;
            System.arraycopy(one, 0, lead, 1, one.length);
            parts.add(y.reshape(lead));
        }
        return parts.size() == 1 ? parts.getFirst().reshape(shape) : concat(0, parts);
    }

    /**
     * Whether model code should load the weights of projections that share an input stacked, for
     * {@link #linearStack}: true where each launch costs (a GPU); false on the CPU, which reads
     * weights in place from the mapped file and would only gain a copy.
     */
    default boolean stacksWeights() { return false; }

    /** 2-D convolution of x[N, C, H, W] with w[O, C, kh, kw] (+ bias[O], may be null), zero padding. */
    Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding);

    /**
     * {@code conv2d(x, w, bias, stride, padding) + residual}, residual of the result's shape (a
     * resnet's final add) or [N, O, 1, 1] (its time embedding, one value per image and channel),
     * added by a device in the pass that adds the bias. The default is the two ops.
     */
    default Tensor conv2dAdd(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        OpChecks.conv2dAdd(x, w, bias, stride, padding, residual);
        return add(residual, conv2d(x, w, bias, stride, padding));
    }

    // ---- normalisation and activations -------------------------------------------------------

    /** GroupNorm over x[N, C, ...] with per-channel affine gamma/beta; then SiLU when {@code silu}. */
    Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu);

    /**
     * {@code groupNorm(x, groups, gamma, beta, eps, false)} of an image x[N, C, h, w] returned as tokens
     * [N, h·w, C] (token = row·w + col): a Transformer2DModel's norm and its change of layout, which a
     * device writes in one pass. The default is the norm, then the permute.
     */
    default Tensor groupNormToTokens(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        int[] s = OpChecks.groupNormToTokens(x, groups, gamma, beta);
        return permute(groupNorm(x, groups, gamma, beta, eps, false), 0, 2, 3, 1).reshape(s);
    }

    /** LayerNorm over the last dimension with affine gamma/beta. */
    Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps);

    Tensor silu(Tensor x);

    /** GELU with the exact erf form (PyTorch's default approximate='none'). */
    Tensor gelu(Tensor x);

    /** x * sigmoid(1.702 x), CLIP's quick_gelu. */
    Tensor quickGelu(Tensor x);

    /** GEGLU: x[..., 2n] split in halves (a, g) along the last dimension, returns a * gelu(g). */
    Tensor geglu(Tensor x);

    /** Softmax over the last dimension. */
    Tensor softmax(Tensor x);

    /**
     * softmax(q k^T * scale [+ causal mask]) v for q[B, H, Sq, D], k and v [B, H, Sk, D];
     * scale = 1/sqrt(D). {@code causal} masks key j > query i.
     */
    Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal);

    /**
     * Unmasked multi-head attention on projections in their own layout: q[B, Sq, H·D], k and v
     * [B, Sk, H·D] → [B, Sq, H·D], head h being columns h·D .. h·D + D - 1. The default splits
     * the heads out, runs {@link #attention} and merges them back; a backend may read the heads in
     * place instead (CUDA's tensor-core kernel does).
     */
    default Tensor attentionHeads(Tensor q, Tensor k, Tensor v, int heads) {
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) {
            throw new IllegalArgumentException("attentionHeads takes [B, S, H·D] tensors, got q " + q + ", k " + k + ", v " + v);
        }
        if (heads <= 0 || q.dim(2) % heads != 0) {
            throw new IllegalArgumentException("attentionHeads: heads must be positive and divide " + q.dim(2) + ", got " + heads);
        }
        int b = q.dim(0), sq = q.dim(1), sk = k.dim(1), d = q.dim(2) / heads;
        Tensor qh = permute(q.reshape(b, sq, heads, d), 0, 2, 1, 3);
        Tensor kh = permute(k.reshape(b, sk, heads, k.dim(2) / heads), 0, 2, 1, 3);
        Tensor vh = permute(v.reshape(b, sk, heads, v.dim(2) / heads), 0, 2, 1, 3);
        Tensor o = attention(qh, kh, vh, false);
        return permute(o, 0, 2, 1, 3).reshape(b, sq, heads * o.dim(3));
    }

    // ---- elementwise -------------------------------------------------------------------------

    /** a + b with numpy broadcasting; likewise sub, mul, div. */
    Tensor add(Tensor a, Tensor b);

    Tensor sub(Tensor a, Tensor b);

    Tensor mul(Tensor a, Tensor b);

    Tensor div(Tensor a, Tensor b);

    /** x * scale + shift, elementwise. */
    Tensor affine(Tensor x, float scale, float shift);

    default Tensor addScalar(Tensor x, float s) { return affine(x, 1f, s); }

    default Tensor mulScalar(Tensor x, float s) { return affine(x, s, 0f); }

    Tensor clamp(Tensor x, float min, float max);

    Tensor exp(Tensor x);

    // ---- shape -------------------------------------------------------------------------------

    Tensor concat(int dim, List<Tensor> parts);

    default Tensor concat(int dim, Tensor... parts) { return concat(dim, List.of(parts)); }

    /** Pieces of the given sizes along {@code dim}, each a {@link #narrow} of x. */
    default List<Tensor> split(Tensor x, int dim, int... sizes) {
        int d = OpChecks.split(x, dim, sizes);
        List<Tensor> parts = new ArrayList<>(sizes.length);
        int at = 0;
        for (int size : sizes) {
            parts.add(narrow(x, d, at, size));
            at += size;
        }
        return parts;
    }

    /** {@code n} equal pieces along {@code dim} (torch.chunk with a divisible size). */
    default List<Tensor> chunk(Tensor x, int n, int dim) {
        int size = x.dim(dim);
        if (size % n != 0) throw new IllegalArgumentException("dimension " + dim + " of size " + size + " does not split into " + n);
        int[] sizes = new int[n];
        java.util.Arrays.fill(sizes, size / n);
        return split(x, dim, sizes);
    }

    /** x[..., start:start+length, ...] along {@code dim}, materialised. */
    Tensor narrow(Tensor x, int dim, int start, int length);

    /** Materialised permutation of the dimensions. */
    Tensor permute(Tensor x, int... perm);

    default Tensor transpose(Tensor x, int d0, int d1) {
        int r = x.rank();
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) perm[i] = i;
        int a = Shapes.normDim(d0, r), b = Shapes.normDim(d1, r);
        perm[a] = b;
        perm[b] = a;
        return permute(x, perm);
    }

    /** Nearest-neighbour 2x upsampling of x[N, C, H, W]. */
    Tensor upsampleNearest2x(Tensor x);

    /** Rows {@code ids} of table[V, D], as [ids.length, D]. */
    Tensor embedding(Tensor table, int[] ids);

    /** Sum over {@code dim} (kept as size 1 when {@code keepDim}). */
    Tensor sum(Tensor x, int dim, boolean keepDim);

    default Tensor mean(Tensor x, int dim, boolean keepDim) {
        return mulScalar(sum(x, dim, keepDim), 1f / x.dim(dim));
    }

    // ---- memory ------------------------------------------------------------------------------

    /** Bytes a backend that allocates its own memory holds: in live tensors, reserved from the device, and their peaks. */
    record MemoryStats(long inUse, long peakInUse, long reserved, long peakReserved) {}

    /**
     * This backend's own memory figures, for budgets and logs; empty where it keeps none (the CPU
     * backend's tensors are heap arrays or mapped files that the GC and the OS own).
     */
    default Optional<MemoryStats> memoryUse() { return Optional.empty(); }

    /** Starts the peaks of {@link #memoryUse()} afresh from the current values (nothing where there are none). */
    default void resetPeakMemory() {}

    /**
     * Waits until the work queued so far is done, so that a timed call covers it (device backends
     * queue work asynchronously; the CPU backend has finished when an op returns).
     */
    default void synchronize() {}

    /** Starts a region whose tensors are released at its end, except those kept. */
    default Scope openScope() { return Scope.NONE; }

    /**
     * Runs {@code work} outside every scope open on this thread: what it allocates (a model's weights
     * loaded on first use, in the middle of a forward pass) belongs to the caller, who closes it.
     */
    default <T> T detached(java.util.function.Supplier<T> work) { return work.get(); }

    @Override
    default void close() {}

    /** A region of tensor lifetimes, see {@link Backend}. */
    interface Scope extends AutoCloseable {
        Scope NONE = new Scope() {
            @Override public <T> T keep(T t) { return t; }
            @Override public void close() {}
        };

        /** Exempts a tensor (or anything holding tensors the backend knows) from this scope's release. */
        <T> T keep(T t);

        @Override
        void close();
    }
}
