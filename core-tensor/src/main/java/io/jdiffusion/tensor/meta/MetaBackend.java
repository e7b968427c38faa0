package io.jdiffusion.tensor.meta;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A shape-only device (like torch's meta device): every op checks its arguments' shapes, makes a
 * result of the right shape and dtype, and computes nothing, so the real full-size graph runs at
 * any size in seconds. It keeps the CUDA backend's memory rules (results in the compute dtype,
 * inputs of another dtype or on the host converted into a temporary, the im2col buffer of an F32
 * convolution, tensors owned by the innermost {@link #openScope() scope} and released when it
 * closes) and counts what that backend would do:
 * <ul>
 *   <li>device bytes in use and their peak, overall and per {@link #component(String) component};</li>
 *   <li>kernel launches (cuBLAS calls included), as {@code CudaBackend} issues them;</li>
 *   <li>GEMM FLOPs: 2·M·N·K of every matrix multiply — matmul, linear, convolutions as implicit
 *       GEMMs (2·N·Ho·Wo·O·C·kh·kw) and attention's QKᵀ and PV (2·B·H·Sq·Sk·(D + Dv));</li>
 *   <li>host→device copies (uploads of host tensors) and device→host copies (reads).</li>
 * </ul>
 * Bytes are tensor bytes; the CUDA caching allocator rounds a block up by at most 25 % (its size
 * classes), which this count does not include. Reading a tensor gives zeros (and counts the copy),
 * so host code that inspects results runs on.
 */
public final class MetaBackend implements Backend {
    private final DType computeType;
    /** The counters, shared with the {@link #withComputeType views} of this backend. */
    private final Ledger ledger;
    private final io.jdiffusion.tensor.DeviceScopes scopes;
    private final Map<DType, MetaBackend> views;

    public MetaBackend(DType computeType) {
        this.computeType = computeType;
        this.ledger = new Ledger();
        this.scopes = new io.jdiffusion.tensor.DeviceScopes();
        this.views = new java.util.EnumMap<>(DType.class);
        views.put(computeType, this);
    }

    private MetaBackend(MetaBackend root, DType computeType) {
        this.computeType = computeType;
        this.ledger = root.ledger;
        this.scopes = root.scopes;
        this.views = root.views;
    }

    @Override public String name() { return "meta"; }

    @Override public Device device() { return Device.META; }

    @Override public DType computeType() { return computeType; }

    /** The same device with results in {@code dtype}: shared counters and scopes (as {@code CudaBackend.withComputeType}). */
    @Override
    public MetaBackend withComputeType(DType dtype) {
        synchronized (views) {
            return views.computeIfAbsent(dtype, d -> new MetaBackend(this, d));
        }
    }

    // ---- counters ----------------------------------------------------------------------------

    /** Names the component whose ops follow (for {@link #peakByComponent()}); returns the previous name. */
    public String component(String name) { return ledger.component(name); }

    /** A snapshot of every counter. */
    public Counters counters() { return ledger.counters(); }

    /** Device bytes in use now. */
    public long bytesInUse() { return ledger.counters().bytesInUse(); }

    /** The largest {@link #bytesInUse()} since the start or the last {@link #resetPeak()}. */
    public long peakBytesInUse() { return ledger.counters().peakBytes(); }

    /** Starts a window whose own peak {@link #windowPeak()} reports (e.g. one denoising step). */
    public void startWindow() { ledger.startWindow(); }

    /** The largest {@link #bytesInUse()} since {@link #startWindow()}. */
    public long windowPeak() { return ledger.windowPeak(); }

    /** Starts peak tracking afresh (the per-component peaks too). */
    public void resetPeak() { ledger.resetPeak(); }

    /** Peak bytes in use while each {@link #component(String) component} ran. */
    public Map<String, Long> peakByComponent() { return ledger.counters().peakByComponent(); }

    /**
     * What the counters held at one moment. {@code kernelLaunches} are the kernels (cuBLAS calls,
     * memsets) the device runs; {@code hostLaunches} what the host queues one by one: the same
     * outside CUDA graphs, but a graph replay ({@link #asGraphReplay}) is one graph launch and its
     * input and output copies, however many kernels it runs.
     */
    public record Counters(long bytesInUse, long peakBytes, long kernelLaunches, long gemmFlops, long hostToDeviceBytes,
                           long hostToDeviceCopies, long deviceToHostBytes, long deviceToHostCopies, Map<String, Long> peakByComponent,
                           long hostLaunches) {
        /** What happened between {@code before} and this snapshot (peaks and bytes in use are this snapshot's). */
        public Counters since(Counters before) {
            return new Counters(bytesInUse, peakBytes, kernelLaunches - before.kernelLaunches, gemmFlops - before.gemmFlops,
                    hostToDeviceBytes - before.hostToDeviceBytes, hostToDeviceCopies - before.hostToDeviceCopies,
                    deviceToHostBytes - before.deviceToHostBytes, deviceToHostCopies - before.deviceToHostCopies, peakByComponent,
                    hostLaunches - before.hostLaunches);
        }
    }

    /**
     * Counts {@code pass} as the replay of a captured CUDA graph ({@code io.jdiffusion.tensor.cuda.GraphedPass}
     * on CUDA): its kernels run on the device as usual, but the host queues one graph launch and
     * {@code copies} copies (into the graph's input buffers, out of its output) instead of them.
     */
    public <T> T asGraphReplay(int copies, java.util.function.Supplier<T> pass) {
        ledger.graph(true);
        try {
            return pass.get();
        } finally {
            ledger.graph(false);
            ledger.hostLaunched(1L + copies);
        }
    }

    /** The device's counters. */
    private static final class Ledger {
        private final Map<String, Long> peakByComponent = new LinkedHashMap<>();
        private String component = "other";
        private long inUse, peak, windowPeak, launches, gemmFlops, hostToDeviceBytes, hostToDeviceCopies, deviceToHostBytes, deviceToHostCopies;
        private long hostLaunches;
        private boolean inGraph;

        synchronized String component(String name) {
            String old = component;
            component = name;
            return old;
        }

        synchronized Counters counters() {
            return new Counters(inUse, peak, launches, gemmFlops, hostToDeviceBytes, hostToDeviceCopies, deviceToHostBytes,
                    deviceToHostCopies, Collections.unmodifiableMap(new LinkedHashMap<>(peakByComponent)), hostLaunches);
        }

        synchronized void startWindow() { windowPeak = inUse; }

        synchronized long windowPeak() { return windowPeak; }

        synchronized void resetPeak() {
            peak = inUse;
            peakByComponent.clear();
        }

        synchronized void allocated(long bytes) {
            inUse += bytes;
            if (inUse > peak) peak = inUse;
            if (inUse > windowPeak) windowPeak = inUse;
            peakByComponent.merge(component, inUse, Math::max);
        }

        synchronized void freed(long bytes) { inUse -= bytes; }

        synchronized void launched(long n) {
            launches += n;
            if (!inGraph) hostLaunches += n;
        }

        synchronized void graph(boolean on) { inGraph = on; }

        synchronized void hostLaunched(long n) { hostLaunches += n; }

        synchronized void gemm(double flops) { gemmFlops += (long) flops; }

        synchronized void hostToDevice(long bytes) {
            hostToDeviceBytes += bytes;
            hostToDeviceCopies++;
        }

        synchronized void deviceToHost(long bytes) {
            deviceToHostBytes += bytes;
            deviceToHostCopies++;
        }
    }

    private void allocated(long bytes) { ledger.allocated(bytes); }

    private void freed(long bytes) { ledger.freed(bytes); }

    private void launched(long n) { ledger.launched(n); }

    private void gemm(double flops) { ledger.gemm(flops); }

    private void hostToDevice(long bytes) { ledger.hostToDevice(bytes); }

    void deviceToHost(long bytes) { ledger.deviceToHost(bytes); }

    // ---- storage and scopes ------------------------------------------------------------------

    /** Device memory that holds no bytes: only its size counts. */
    final class Buffer implements io.jdiffusion.tensor.DeviceScopes.Member {
        final DType dtype;
        final long length;
        private Object scope;
        boolean released;

        Buffer(DType dtype, long length) {
            this.dtype = dtype;
            this.length = length;
            allocated(bytes());
        }

        long bytes() { return Math.max(1, length) * dtype.byteSize(); }

        @Override public Device device() { return Device.META; }

        @Override public DType dtype() { return dtype; }

        @Override public long length() { return length; }

        @Override
        public void readFloats(long offset, float[] dst, int dstOffset, int count) {
            deviceToHost((long) count * dtype.byteSize());
            java.util.Arrays.fill(dst, dstOffset, dstOffset + count, 0f);
        }

        @Override
        public synchronized void release() {
            if (released) return;
            released = true;
            io.jdiffusion.tensor.DeviceScopes.untrack(this);
            freed(bytes());
        }

        MetaBackend owner() { return MetaBackend.this; }

        @Override public Object scope() { return scope; }

        @Override public void scope(Object scope) { this.scope = scope; }
    }

    private Tensor alloc(DType dtype, int... shape) {
        Buffer b = new Buffer(dtype, Shapes.numel(shape));
        scopes.track(b);
        return new Tensor(b, 0, shape);
    }

    /** An op's temporaries (converted inputs, im2col buffers): alive with its result, released when it returns. */
    private final ThreadLocal<List<Buffer>> temporaries = ThreadLocal.withInitial(ArrayList::new);

    private void temporary(DType dtype, long elements) { temporaries.get().add(new Buffer(dtype, elements)); }

    /** Ends an op: releases its temporaries (after its result was allocated, as CudaBackend's Inputs do). */
    private <T> T done(T result) {
        List<Buffer> t = temporaries.get();
        for (Buffer b : t) b.release();
        t.clear();
        return result;
    }

    /** On this device: made by this backend or a view of it (they share the ledger). */
    private boolean ours(Tensor t) { return t.storage() instanceof Buffer b && b.owner().ledger == ledger; }

    /** An op's input: one of ours in the compute dtype is used in place, anything else is converted into a temporary first. */
    private void in(Tensor t) {
        if (t == null || (ours(t) && t.dtype() == computeType)) return;
        if (!ours(t)) hostToDevice(t.numel() * t.dtype().byteSize());
        launched(1);
        temporary(computeType, t.numel());
    }

    @Override
    public Scope openScope() { return scopes.open(); }

    @Override
    public <T> T detached(java.util.function.Supplier<T> work) { return scopes.detached(work); }

    // ---- moving data -------------------------------------------------------------------------

    @Override
    public Tensor upload(Tensor t, DType dtype) {
        if (ours(t) && t.dtype() == dtype) return t;
        if (!ours(t)) hostToDevice(t.numel() * t.dtype().byteSize());
        // a host tensor of another dtype is staged as is and converted on the device (one launch)
        if (t.dtype() != dtype) launched(1);
        return alloc(dtype, t.shape());
    }

    @Override
    public Tensor zeros(int... shape) {
        launched(1);
        return done(alloc(computeType, shape));
    }

    @Override
    public Tensor full(float value, int... shape) {
        launched(1);
        return done(alloc(computeType, shape));
    }

    // ---- linear algebra ----------------------------------------------------------------------

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2 || a.dim(-1) != b.dim(-2)) throw new IllegalArgumentException("matmul: shapes " + a + " and " + b + " do not chain");
        in(a);
        in(b);
        int[] ba = java.util.Arrays.copyOf(a.shape(), a.rank() - 2), bb = java.util.Arrays.copyOf(b.shape(), b.rank() - 2);
        int[] batch = Shapes.broadcast(ba, bb);
        int m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
        int[] out = java.util.Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = m;
        out[batch.length + 1] = n;
        gemm(2.0 * Shapes.numel(batch) * m * n * k);
        launched(1);
        return done(alloc(computeType, out));
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        if (w.rank() != 2 || x.dim(-1) != w.dim(1)) throw new IllegalArgumentException("linear: weight " + w + " does not take input " + x);
        if (bias != null && bias.numel() != w.dim(0)) throw new IllegalArgumentException("linear: bias " + bias + " is not of size " + w.dim(0));
        in(x);
        in(w);
        in(bias);
        int[] out = x.shape();
        out[out.length - 1] = w.dim(0);
        gemm(2.0 * (x.numel() / x.dim(-1)) * w.dim(1) * w.dim(0));
        launched(linearLaunches(w, bias));
        return done(alloc(computeType, out));
    }

    /**
     * cuBLASLt with the bias epilogue (one launch) where its heuristic takes the shape: 16-bit
     * matrices need 16-byte-aligned leading dimensions (in and out multiples of 8); otherwise
     * CudaBackend runs cublasGemmEx and, with a bias, the bias kernel.
     */
    private long linearLaunches(Tensor w, Tensor bias) {
        boolean lt = computeType == DType.F32 || (w.dim(0) % 8 == 0 && w.dim(1) % 8 == 0);
        return lt || bias == null ? 1 : 2;
    }

    /** CUDA adds the residual in cuBLASLt's epilogue (C with beta 1): one launch. */
    @Override
    public Tensor linearAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        // the cublasGemmEx path copies the residual in first (a copy, not a launch)
        return linearWithResidual(io.jdiffusion.tensor.OpChecks.linearAdd(x, w, bias, residual), x, w, bias, residual, linearLaunches(w, bias));
    }

    /** A linear of x[..., in] by w[out, in] whose result (of shape {@code out}) takes the residual, in {@code launches} launches. */
    private Tensor linearWithResidual(int[] out, Tensor x, Tensor w, Tensor bias, Tensor residual, long launches) {
        in(x);
        in(w);
        in(bias);
        in(residual);
        gemm(2.0 * (x.numel() / x.dim(-1)) * w.dim(1) * w.dim(0));
        launched(launches);
        return done(alloc(computeType, out));
    }

    /** One strided-batched GEMM on CUDA. */
    @Override
    public Tensor linearStack(Tensor x, Tensor w) {
        int[] out = io.jdiffusion.tensor.OpChecks.linearStack(x, w);
        in(x);
        in(w);
        gemm(2.0 * w.dim(0) * (x.numel() / Math.max(1, x.dim(-1))) * w.dim(1) * w.dim(2));
        launched(1);
        return done(alloc(computeType, out));
    }

    /** CUDA: one strided-batched GEMM into the image layout, one pass adding bias and residual. */
    @Override
    public Tensor linearToImageAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        return linearWithResidual(io.jdiffusion.tensor.OpChecks.linearToImageAdd(x, w, bias, residual), x, w, bias, residual, 2);
    }

    @Override public boolean stacksWeights() { return true; }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        return conv2d(x, w, bias, stride, padding, null);
    }

    /** CUDA adds the residual in the convolution's epilogue (F16/BF16) or its bias kernel (F32): no launch more. */
    @Override
    public Tensor conv2dAdd(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        io.jdiffusion.tensor.OpChecks.conv2dAdd(x, w, bias, stride, padding, residual);
        return conv2d(x, w, bias, stride, padding, residual);
    }

    private Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        if (x.rank() != 4 || w.rank() != 4 || w.dim(1) != x.dim(1)) throw new IllegalArgumentException("conv2d: weight " + w + " does not take input " + x);
        int n = x.dim(0), c = x.dim(1), o = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int ho = (x.dim(2) + 2 * padding - kh) / stride + 1, wo = (x.dim(3) + 2 * padding - kw) / stride + 1;
        if (ho <= 0 || wo <= 0) throw new IllegalArgumentException("conv2d: kernel " + kh + "x" + kw + " larger than padded input " + x);
        if (bias != null && bias.numel() != o) throw new IllegalArgumentException("conv2d: bias " + bias + " is not of size " + o);
        in(x);
        in(w);
        in(bias);
        in(residual);
        Tensor out = alloc(computeType, n, o, ho, wo);
        long ck = (long) c * kh * kw, hw = (long) ho * wo;
        gemm(2.0 * n * hw * o * ck);
        if (io.jdiffusion.tensor.cuda.CudaBackend.implicitGemmConv(computeType)) {
            launched(1);   // conv_mma.cu: no im2col buffer, bias and addend in its epilogue
            return done(out);
        }
        if (kh == 1 && kw == 1 && stride == 1 && padding == 0) {
            launched(1);
        } else {
            long chunk = io.jdiffusion.tensor.cuda.CudaBackend.im2colChunk(n, ck, hw);
            temporary(computeType, n * ck * chunk);
            launched(2L * Math.ceilDiv(hw, chunk)); // im2col of every image + one strided-batched GEMM per chunk
        }
        if (bias != null || residual != null) launched(1);
        return done(out);
    }

    // ---- normalisation and activations -------------------------------------------------------

    private Tensor same(Tensor x, Tensor... params) {
        in(x);
        for (Tensor p : params) in(p);
        launched(1);
        return done(alloc(computeType, x.shape()));
    }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        if (x.rank() < 2 || x.dim(1) % groups != 0) throw new IllegalArgumentException("groupNorm: " + x.dim(1) + " channels do not split into " + groups + " groups");
        groupNormStatistics(x, groups);
        return same(x, gamma, beta);
    }

    /**
     * CUDA's GroupNorm kernels writing the tokens' layout: the same launches as groupNorm, no permute
     * (the norm and a permute where CUDA's tile would not fit).
     */
    @Override
    public Tensor groupNormToTokens(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        int[] out = io.jdiffusion.tensor.OpChecks.groupNormToTokens(x, groups, gamma, beta);
        if (!io.jdiffusion.tensor.cuda.CudaBackend.groupNormWritesTokens(x.dim(1), groups, (long) x.dim(2) * x.dim(3))) {
            return Backend.super.groupNormToTokens(x, groups, gamma, beta, eps);
        }
        groupNormStatistics(x, groups);
        in(x);
        in(gamma);
        in(beta);
        launched(1);
        return done(alloc(computeType, out));
    }

    private void groupNormStatistics(Tensor x, int groups) {
        long size = x.numel() / Math.max(1, x.dim(0)) / groups;
        if (size > io.jdiffusion.tensor.cuda.CudaBackend.GROUP_NORM_SPLIT_ABOVE) launched(1);   // CUDA's split statistics kernel
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        if (gamma != null && gamma.numel() != x.dim(-1)) throw new IllegalArgumentException("layerNorm: gamma " + gamma + " does not fit " + x);
        return same(x, gamma, beta);
    }

    @Override public Tensor silu(Tensor x) { return same(x); }

    @Override public Tensor gelu(Tensor x) { return same(x); }

    @Override public Tensor quickGelu(Tensor x) { return same(x); }

    @Override
    public Tensor geglu(Tensor x) {
        if (x.dim(-1) % 2 != 0) throw new IllegalArgumentException("geglu: last dimension " + x.dim(-1) + " is odd");
        in(x);
        launched(1);
        int[] s = x.shape();
        s[s.length - 1] /= 2;
        return done(alloc(computeType, s));
    }

    @Override public Tensor softmax(Tensor x) { return same(x); }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4) throw new IllegalArgumentException("attention takes [B, H, S, D] tensors");
        int b = q.dim(0), h = q.dim(1), sq = q.dim(2), d = q.dim(3), sk = k.dim(2), dv = v.dim(3);
        if (k.dim(0) != b || k.dim(1) != h || k.dim(3) != d || v.dim(0) != b || v.dim(1) != h || v.dim(2) != sk) {
            throw new IllegalArgumentException("attention shapes disagree: q " + q + ", k " + k + ", v " + v);
        }
        if (Math.max(d, dv) > MAX_HEAD_SIZE) throw new IllegalArgumentException("attention: head size " + Math.max(d, dv) + " > " + MAX_HEAD_SIZE);
        in(q);
        in(k);
        in(v);
        gemm(2.0 * b * h * sq * sk * (d + dv));
        launched(1);
        return done(alloc(computeType, b, h, sq, dv));
    }

    /** Like CUDA: 16-bit heads of a tensor-core kernel size are read in place (one launch), others split and merged. */
    @Override
    public Tensor attentionHeads(Tensor q, Tensor k, Tensor v, int heads) {
        boolean inPlace = computeType != DType.F32 && q.rank() == 3 && k.rank() == 3 && v.rank() == 3 && heads > 0
                && q.dim(2) % heads == 0 && k.dim(2) == q.dim(2) && v.dim(2) == q.dim(2) && k.dim(0) == q.dim(0)
                && v.dim(0) == q.dim(0) && v.dim(1) == k.dim(1) && io.jdiffusion.tensor.cuda.CudaBackend.fusedHeadSize(q.dim(2) / heads);
        if (!inPlace) return Backend.super.attentionHeads(q, k, v, heads);
        int b = q.dim(0), sq = q.dim(1), sk = k.dim(1), hd = q.dim(2);
        in(q);
        in(k);
        in(v);
        gemm(2.0 * b * sq * sk * (2L * hd));
        launched(1);
        return done(alloc(computeType, b, sq, hd));
    }

    /** The CUDA backend's largest head size (its d512 kernel). */
    static final int MAX_HEAD_SIZE = io.jdiffusion.tensor.cuda.CudaBackend.MAX_HEAD_SIZE;

    // ---- elementwise -------------------------------------------------------------------------

    private Tensor binary(Tensor a, Tensor b) {
        int[] s = Shapes.broadcast(a.shape(), b.shape());
        in(a);
        in(b);
        launched(1);
        return done(alloc(computeType, s));
    }

    @Override public Tensor add(Tensor a, Tensor b) { return binary(a, b); }

    @Override public Tensor sub(Tensor a, Tensor b) { return binary(a, b); }

    @Override public Tensor mul(Tensor a, Tensor b) { return binary(a, b); }

    @Override public Tensor div(Tensor a, Tensor b) { return binary(a, b); }

    @Override public Tensor affine(Tensor x, float scale, float shift) { return same(x); }

    @Override public Tensor clamp(Tensor x, float min, float max) { return same(x); }

    @Override public Tensor exp(Tensor x) { return same(x); }

    // ---- shape -------------------------------------------------------------------------------

    @Override
    public Tensor concat(int dim, List<Tensor> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat of no tensors");
        int r = parts.getFirst().rank(), d = Shapes.normDim(dim, r);
        int[] s = parts.getFirst().shape();
        int total = 0;
        for (Tensor p : parts) {
            if (p.rank() != r) throw new IllegalArgumentException("concat: ranks differ: " + parts);
            for (int i = 0; i < r; i++) {
                if (i != d && p.dim(i) != s[i]) throw new IllegalArgumentException("concat along " + dim + ": shapes differ: " + parts);
            }
            total += p.dim(d);
            in(p);
        }
        s[d] = total;
        launched(parts.size());
        return done(alloc(computeType, s));
    }

    @Override
    public List<Tensor> split(Tensor x, int dim, int... sizes) {
        int d = Shapes.normDim(dim, x.rank());
        int sum = 0;
        for (int n : sizes) sum += n;
        if (sum != x.dim(d)) throw new IllegalArgumentException("split: sizes add up to " + sum + ", dimension " + dim + " of " + x + " is " + x.dim(d));
        in(x);
        List<Tensor> out = new ArrayList<>();
        for (int n : sizes) {
            int[] s = x.shape();
            s[d] = n;
            launched(1);
            out.add(alloc(computeType, s));
        }
        return done(out);
    }

    @Override
    public Tensor narrow(Tensor x, int dim, int start, int length) {
        int d = Shapes.normDim(dim, x.rank());
        if (start < 0 || length < 0 || start + length > x.dim(d)) throw new IllegalArgumentException("narrow: [" + start + ", " + (start + length) + ") outside " + x);
        in(x);
        launched(1);
        int[] s = x.shape();
        s[d] = length;
        return done(alloc(computeType, s));
    }

    @Override
    public Tensor permute(Tensor x, int... perm) {
        if (perm.length != x.rank()) throw new IllegalArgumentException("permute: " + perm.length + " axes for " + x);
        in(x);
        launched(1);
        int[] s = new int[perm.length];
        for (int i = 0; i < perm.length; i++) s[i] = x.dim(perm[i]);
        return done(alloc(computeType, s));
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        if (x.rank() != 4) throw new IllegalArgumentException("upsampleNearest2x takes [N, C, H, W], got " + x);
        in(x);
        launched(1);
        return done(alloc(computeType, x.dim(0), x.dim(1), 2 * x.dim(2), 2 * x.dim(3)));
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        in(table);
        hostToDevice(4L * ids.length);
        launched(1);
        return done(alloc(computeType, ids.length, table.dim(1)));
    }

    @Override
    public Tensor sum(Tensor x, int dim, boolean keepDim) {
        int d = Shapes.normDim(dim, x.rank());
        in(x);
        launched(1);
        int[] s = x.shape();
        if (keepDim) {
            s[d] = 1;
        } else {
            int[] t = new int[s.length - 1];
            for (int i = 0, j = 0; i < s.length; i++) if (i != d) t[j++] = s[i];
            s = t;
        }
        return done(alloc(computeType, s));
    }
}
