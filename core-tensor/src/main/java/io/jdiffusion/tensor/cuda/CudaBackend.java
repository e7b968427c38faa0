package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.OpChecks;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The Backend on an NVIDIA GPU, with no JNI: the driver API, NVRTC and cuBLAS(Lt) through
 * java.lang.foreign. Results are stored in {@link #computeType()} (F32, F16 or BF16); every
 * kernel computes in F32. Kernels are CUDA C resources compiled at first use for this device's
 * architecture and cached on disk ({@link KernelCache}).
 *
 * <p>All work goes to one stream, so operations are ordered without events and device memory
 * freed to the {@link CachingAllocator} can be reused at once. Host reads
 * ({@link Tensor#toFloatArray()}) synchronise that stream.
 *
 * <p>Memory: tensors made while a thread has a scope open ({@link #openScope()}) belong to the
 * innermost one and are released when it closes, except those passed to {@link Scope#keep},
 * which move to the enclosing scope (or become unscoped, owned by their caller and the GC).
 */
public final class CudaBackend implements Backend {
    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class);
    private static final String RESOURCE_DIR = "/io/jdiffusion/tensor/cuda/";
    private static final List<String> KERNEL_FILES = List.of("elementwise", "norm", "shape", "attention", "flash_mma", "conv_mma");
    private static final long LT_WORKSPACE = 32L << 20;
    private static final int THREADS = 256;
    /** GroupNorm groups larger than this many values are split over several blocks, GROUP_NORM_CHUNK values each. */
    public static final long GROUP_NORM_SPLIT_ABOVE = 8192;
    static final int GROUP_NORM_CHUNK = 4096;
    /** The largest tile groupnorm_apply takes: a launch gets 48 KiB of shared memory without opting in, less the kernel's own. */
    private static final int GROUP_NORM_TILE_LIMIT = 47 << 10;
    /** The largest attention head size (the SDXL VAE's mid-block attention has one head of 512). */
    public static final int MAX_HEAD_SIZE = 512;

    final CudaDriver driver;
    private final Nvrtc nvrtc;
    private final Cublas blas;
    private final CudaDeviceInfo info;
    private final Device device;
    private final DType computeType;
    private final int cuDevice;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final MemorySegment blasHandle;
    private final MemorySegment ltHandle;
    private final CachingAllocator allocator;
    private final KernelCache cache;
    private final Arena arena;
    private final MemorySegment one, zero;
    private final Map<String, MemorySegment> modules;
    private final Map<String, MemorySegment> functions;
    private final Map<LtKey, LtPlan> ltPlans = new HashMap<>();
    /** The backend that owns the context, stream and memory; this one itself unless it is a {@link #withComputeType view}. */
    private final CudaBackend root;
    /** Views of the root in other compute types, made on first request. */
    private final Map<DType, CudaBackend> views;
    /** The context each thread last made current (several backends, even on several devices, may share a thread). */
    private static final ThreadLocal<MemorySegment> CURRENT = new ThreadLocal<>();
    private final io.jdiffusion.tensor.DeviceScopes scopes;
    private long ltWorkspace;
    private volatile boolean closed;
    /** Work queued on the stream: kernels, cuBLAS calls, memsets (what MetaBackend counts as launches); the root's, shared by views. */
    private final java.util.concurrent.atomic.LongAdder launches = new java.util.concurrent.atomic.LongAdder();
    /** The root's CUDA graph state: the capture in progress (null: none) and the graphs to destroy at close. */
    CudaGraph.Recording recording;
    final java.util.Set<CudaGraph> graphs = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private CudaBackend(int ordinal, DType computeType, long budgetBytes) {
        this.root = this;
        this.arena = Arena.ofShared();
        this.modules = new HashMap<>();
        this.functions = new HashMap<>();
        this.scopes = new io.jdiffusion.tensor.DeviceScopes();
        this.views = new java.util.EnumMap<>(DType.class);
        this.driver = CudaDriver.get();
        int count = driver.deviceCount();
        if (count == 0) throw new CudaUnavailableException("no CUDA device: cuDeviceGetCount returned 0 (driver " + driver.lib.location + ")");
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("CUDA device " + ordinal + " does not exist: " + count + " device(s), ordinals 0.." + (count - 1));
        }
        this.nvrtc = Nvrtc.load();
        this.blas = Cublas.load();
        this.computeType = computeType;
        this.cuDevice = driver.device(ordinal);
        this.info = new CudaDeviceInfo(ordinal, driver.deviceName(cuDevice),
                driver.attribute(cuDevice, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                driver.attribute(cuDevice, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                driver.attribute(cuDevice, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                driver.totalMemory(cuDevice), driver.driverVersion(), nvrtc.version(), blas.ltVersion(),
                driver.lib.location, nvrtc.lib.location, blas.blas.location);
        this.device = Device.cuda(ordinal);
        this.context = driver.primaryContextRetain(cuDevice);
        driver.setCurrent(context);
        CURRENT.set(context);
        this.stream = driver.streamCreate();
        this.allocator = new CachingAllocator(new CachingAllocator.RawMemory() {
            @Override public long allocate(long bytes) {
                long[] out = new long[1];
                int rc = driver.memAllocStatus(bytes, out);
                if (rc == 2 /* CUDA_ERROR_OUT_OF_MEMORY */) return 0;
                driver.check("cuMemAlloc(" + bytes + " bytes)", rc);
                return out[0];
            }
            @Override public void free(long pointer) { driver.memFree(pointer); }
            @Override public void synchronize() { driver.streamSynchronize(stream); }
        }, budgetBytes);
        this.blasHandle = blas.create(stream);
        this.ltHandle = blas.ltCreate();
        this.cache = new KernelCache(KernelCache.defaultDir());
        this.one = arena.allocate(JAVA_FLOAT);
        one.set(JAVA_FLOAT, 0, 1f);
        this.zero = arena.allocate(JAVA_FLOAT);
        zero.set(JAVA_FLOAT, 0, 0f);
    }

    /** A view of {@code root} storing results in {@code computeType}: same context, stream, memory, kernels and scopes. */
    private CudaBackend(CudaBackend root, DType computeType) {
        this.root = root;
        this.computeType = computeType;
        this.driver = root.driver;
        this.nvrtc = root.nvrtc;
        this.blas = root.blas;
        this.info = root.info;
        this.device = root.device;
        this.cuDevice = root.cuDevice;
        this.context = root.context;
        this.stream = root.stream;
        this.blasHandle = root.blasHandle;
        this.ltHandle = root.ltHandle;   // cuBLASLt plans (ltPlans) are per dtype, so per view
        this.allocator = root.allocator;
        this.cache = root.cache;
        this.arena = root.arena;
        this.one = root.one;
        this.zero = root.zero;
        this.modules = root.modules;
        this.functions = root.functions;
        this.scopes = root.scopes;
        this.views = root.views;
    }

    /**
     * This device in another compute dtype: results in {@code dtype}, the same memory, stream and
     * scopes, so tensors pass between the two without copies (converted by a cast kernel where the
     * types differ). The SDXL VAE's {@code force_upcast} runs it in F32 beside an F16 UNet this way.
     * Closing a view does nothing; closing the backend it came from closes all.
     */
    @Override
    public CudaBackend withComputeType(DType dtype) {
        if (dtype == computeType) return this;
        if (dtype == root.computeType) return root;
        synchronized (views) {
            return views.computeIfAbsent(dtype, d -> new CudaBackend(root, d));
        }
    }

    /**
     * A backend on CUDA device {@code ordinal} storing results in {@code computeType};
     * {@code budgetBytes} > 0 caps the device memory it reserves. Throws
     * {@link CudaUnavailableException} saying which library or device is missing.
     */
    public static CudaBackend create(int ordinal, DType computeType, long budgetBytes) {
        return new CudaBackend(ordinal, computeType, budgetBytes);
    }

    /** Loads the driver, NVRTC and cuBLAS and describes device {@code ordinal}, without making a backend. */
    public static CudaDeviceInfo probe(int ordinal) {
        CudaDriver d = CudaDriver.get();
        int count = d.deviceCount();
        if (count == 0) throw new CudaUnavailableException("no CUDA device: cuDeviceGetCount returned 0 (driver " + d.lib.location + ")");
        if (ordinal >= count) throw new CudaUnavailableException("no CUDA device " + ordinal + ": only " + count + " present");
        Nvrtc n = Nvrtc.load();
        Cublas b = Cublas.load();
        int dev = d.device(ordinal);
        return new CudaDeviceInfo(ordinal, d.deviceName(dev),
                d.attribute(dev, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                d.attribute(dev, CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                d.attribute(dev, CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                d.totalMemory(dev), d.driverVersion(), n.version(), b.ltVersion(), d.lib.location, n.lib.location, b.blas.location);
    }

    public CudaDeviceInfo info() { return info; }

    /**
     * Kernel launches, cuBLAS calls and memsets queued so far by this device (all its dtype views):
     * what {@code MetaBackend} predicts as kernel launches, so the two can be held in agreement.
     */
    public long kernelLaunches() { return root.launches.sum(); }

    // during a capture the launch is the graph's, counted when the graph runs (CudaGraph.launch)
    private void counted() {
        CudaGraph.Recording r = root.recording;
        if (r != null) r.kernels++;
        else root.launches.increment();
    }

    /** Adds {@code n} launches the device runs without the host queueing each (a CUDA graph replay). */
    void countReplayed(long n) { root.launches.add(n); }

    CudaBackend root() { return root; }

    MemorySegment stream() { return stream; }

    CachingAllocator allocator() { return allocator; }

    boolean isClosed() { return root.closed; }

    private void memset(long dst, byte value, long bytes, MemorySegment stream) {
        driver.memsetD8Async(dst, value, bytes, stream);
        counted();
    }

    @Override public String name() { return "cuda"; }

    @Override public Device device() { return device; }

    @Override public DType computeType() { return computeType; }

    public CachingAllocator.Stats memoryStats() { return allocator.stats(); }

    @Override
    public Optional<MemoryStats> memoryUse() {
        CachingAllocator.Stats s = allocator.stats();
        return Optional.of(new MemoryStats(s.inUse(), s.peakInUse(), s.reserved(), s.peakReserved()));
    }

    @Override
    public void resetPeakMemory() { allocator.resetPeaks(); }

    /** Returns cached device blocks to the driver. */
    public void emptyCache() {
        enter();
        allocator.emptyCache();
    }

    /** Waits for all queued work. */
    @Override
    public void synchronize() {
        enter();
        driver.streamSynchronize(stream);
    }

    /** Milliseconds of device time {@code work} queues, measured with CUDA events on this backend's stream. */
    public float timeMillis(Runnable work) {
        enter();
        MemorySegment start = driver.eventCreate(), end = driver.eventCreate();
        try {
            driver.eventRecord(start, stream);
            work.run();
            driver.eventRecord(end, stream);
            driver.eventSynchronize(end);
            return driver.eventElapsedMillis(start, end);
        } finally {
            driver.eventDestroy(start);
            driver.eventDestroy(end);
        }
    }

    // ---- context, memory, scopes -------------------------------------------------------------

    void enter() {
        if (root.closed) throw new IllegalStateException("the CUDA backend on " + device + " is closed");
        if (!context.equals(CURRENT.get())) {
            driver.setCurrent(context);
            CURRENT.set(context);
        }
    }

    /** A new tensor of {@code dtype}, tracked by the calling thread's innermost scope. */
    private Tensor alloc(DType dtype, int... shape) {
        long n = Shapes.numel(shape);
        CudaStorage s = new CudaStorage(this, allocator, allocator.allocate(Math.max(1, n) * dtype.byteSize()), dtype, n);
        scopes.track(s);
        return new Tensor(s, 0, shape);
    }

    /** An untracked temporary: released by the op that made it (queued work keeps ordering). */
    private CudaStorage temp(DType dtype, long n) {
        return new CudaStorage(this, allocator, allocator.allocate(Math.max(1, n) * dtype.byteSize()), dtype, n);
    }

    @Override
    public Scope openScope() {
        enter();
        return scopes.open();
    }

    @Override
    public <T> T detached(java.util.function.Supplier<T> work) { return scopes.detached(work); }

    // ---- kernels ------------------------------------------------------------------------------

    private static String suffix(DType t) {
        return switch (t) { case F32 -> "f32"; case F16 -> "f16"; case BF16 -> "bf16"; };
    }

    static String readResource(String file) {
        try (InputStream in = CudaBackend.class.getResourceAsStream(RESOURCE_DIR + file)) {
            if (in == null) throw new IllegalStateException("kernel source " + RESOURCE_DIR + file + " is missing from the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + file, e);
        }
    }

    private synchronized MemorySegment function(String file, String kernel) {
        MemorySegment f = functions.get(kernel);
        if (f != null) return f;
        MemorySegment module = modules.get(file);
        if (module == null) {
            module = loadModule(file);
            modules.put(file, module);
        }
        f = driver.moduleGetFunction(module, kernel);
        functions.put(kernel, f);
        return f;
    }

    private MemorySegment loadModule(String file) {
        String source = readResource(file + ".cu");
        Map<String, String> headers = Map.of("common.cuh", readResource("common.cuh"));
        int cc = info.computeCapability();
        List<String> options = List.of();
        String key = KernelCache.key(source, headers, "sm_" + cc, nvrtc.version(), options);
        Nvrtc.Image image = cache.load(file, key).orElse(null);
        if (image == null) {
            long t0 = System.nanoTime();
            image = nvrtc.compile(file + ".cu", source, headers, cc, options);
            LOG.info("compiled {}.cu for {} in {} ms ({} bytes of {})", file, image.arch(), (System.nanoTime() - t0) / 1_000_000,
                    image.bytes().length, image.isCubin() ? "CUBIN" : "PTX");
            cache.store(file, key, image);
        }
        byte[] bytes = image.bytes();
        MemorySegment img = arena.allocate(bytes.length + 1L);   // PTX must be NUL-terminated
        MemorySegment.copy(bytes, 0, img, JAVA_BYTE, 0, bytes.length);
        return driver.moduleLoadData(img, file + ".cu");
    }

    /** Broadcast/permutation index arithmetic passed by value to kernels (struct Index6 in common.cuh). */
    private record Index6(int rank, boolean contiguous, long[] shape, long[] sa, long[] sb) {
        static final int MAX = 6;
        static final long BYTES = 8 + 3 * 8 * MAX;

        void write(MemorySegment s) {
            s.fill((byte) 0);
            s.set(JAVA_INT, 0, rank);
            s.set(JAVA_INT, 4, contiguous ? 1 : 0);
            for (int i = 0; i < rank; i++) {
                s.set(JAVA_LONG, 8 + 8L * i, shape[i]);
                s.set(JAVA_LONG, 8 + 8L * (MAX + i), sa[i]);
                s.set(JAVA_LONG, 8 + 8L * (2 * MAX + i), sb == null ? 0 : sb[i]);
            }
        }
    }

    /**
     * Per-thread native buffer for kernel arguments: 32 argument pointers, then the values.
     * cuLaunchKernel copies the arguments before it returns, so the buffer is reused at once.
     */
    private static final ThreadLocal<MemorySegment> LAUNCH_ARGS = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(4096, 16));
    private static final int MAX_ARGS = 32;

    private void launch(String file, String kernel, long gridX, int gridY, int block, int sharedBytes, Object... args) {
        if (gridX <= 0 || gridY <= 0) return;
        if (args.length > MAX_ARGS) throw new IllegalArgumentException("kernel " + kernel + " with " + args.length + " arguments");
        MemorySegment f = function(file, kernel);
        MemorySegment buf = LAUNCH_ARGS.get();
        long base = buf.address(), at = 8L * MAX_ARGS;
        for (int i = 0; i < args.length; i++) {
            buf.set(JAVA_LONG, 8L * i, base + at);
            switch (args[i]) {
                case Long l -> { buf.set(JAVA_LONG, at, l); at += 8; }
                case Integer n -> { buf.set(JAVA_INT, at, n); at += 8; }
                case Float x -> { buf.set(JAVA_FLOAT, at, x); at += 8; }
                case Index6 ix -> { ix.write(buf.asSlice(at, Index6.BYTES)); at += Index6.BYTES; }
                default -> throw new IllegalArgumentException("kernel argument of type " + args[i].getClass());
            }
        }
        driver.launch(kernel, f, Math.toIntExact(gridX), gridY, 1, block, 1, 1, sharedBytes, stream, buf);
        counted();
    }

    /** A 1-D grid-stride launch over n elements. */
    private void launchN(String file, String kernel, long n, Object... args) {
        if (n == 0) return;
        launch(file, kernel, Math.min(Math.ceilDiv(n, THREADS), 1L << 16), 1, THREADS, 0, args);
    }

    /** A kernel over n values that takes 8 per thread where aligned (elementwise.cu): a thread per 8 (its scalar path loops). */
    private void launchPacked(String file, String kernel, long n, Object... args) {
        launchN(file, kernel, Math.ceilDiv(n, 8), args);
    }

    // ---- moving data -------------------------------------------------------------------------

    /** Device address of t's first element (t must live on this backend). */
    private static long ptr(Tensor t) {
        CudaStorage s = (CudaStorage) t.storage();
        return s.pointer() + t.offset() * s.dtype().byteSize();
    }

    /** Inputs of an op: device pointers in the compute type, with temporaries freed when the op is queued. */
    private final class Inputs implements AutoCloseable {
        final List<CudaStorage> temps = new ArrayList<>(2);

        long of(Tensor t) {
            if (t.storage() instanceof CudaStorage s && s.owner().root == root && s.dtype() == computeType) return ptr(t);
            CudaStorage tmp = temp(computeType, t.numel());
            temps.add(tmp);
            copyInto(t, computeType, tmp.pointer());
            return tmp.pointer();
        }

        @Override
        public void close() { for (CudaStorage s : temps) s.release(); }
    }

    /** On this device: made by this backend or a view of the same root. */
    private boolean ours(Tensor t) { return t.storage() instanceof CudaStorage s && s.owner().root == root; }

    /**
     * Writes t, converted to {@code dtype}, to device address {@code dst}. Host data crosses the
     * bus in the type it is stored in (mapped F16/BF16 weights straight from the file's pages,
     * heap tensors as F32) and is converted by a cast kernel on the device, not by the CPU.
     */
    void copyInto(Tensor t, DType dtype, long dst) {
        long n = t.numel();
        if (n == 0) return;
        if (ours(t)) {
            if (t.dtype() == dtype) driver.memcpyDtoDAsync(dst, ptr(t), n * dtype.byteSize(), stream);
            else launchPacked("elementwise", "cast_" + suffix(t.dtype()) + "_" + suffix(dtype), n, ptr(t), dst, n);
            return;
        }
        if (t.device().kind() == Device.Kind.META) throw new IllegalArgumentException("cannot upload a meta tensor (it has no data): " + t);
        refuseHostUpload(t.toString());
        DType src = t.storage() instanceof SegmentStorage ss ? ss.dtype() : DType.F32;
        int bs = src.byteSize();
        CudaStorage staging = src == dtype ? null : temp(src, n);
        long target = staging == null ? dst : staging.pointer();
        try {
            if (t.storage() instanceof SegmentStorage ss) {
                // from pageable memory the call returns once the bytes are staged
                driver.memcpyHtoDAsync(target, ss.segment().asSlice(t.offset() * bs, n * bs), n * bs, stream);
            } else {
                int chunk = (int) Math.min(n, 1 << 22);
                float[] f = new float[chunk];
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment host = a.allocate((long) chunk * 4, 8);
                    for (long at = 0; at < n; at += chunk) {
                        int c = (int) Math.min(chunk, n - at);
                        t.storage().readFloats(t.offset() + at, f, 0, c);
                        MemorySegment.copy(f, 0, host, JAVA_FLOAT, 0, c);
                        driver.memcpyHtoDAsync(target + at * 4, host, (long) c * 4, stream);   // host reusable on return
                    }
                }
            }
            if (staging != null) launchPacked("elementwise", "cast_" + suffix(src) + "_" + suffix(dtype), n, target, dst, n);
        } finally {
            if (staging != null) staging.release();
        }
    }

    /** A captured copy would read the host memory again at every replay, long after it is gone: refused in a capture. */
    private void refuseHostUpload(String what) {
        if (root.recording != null) throw new CudaException("host data uploaded inside a CUDA graph capture (" + what + ")");
    }

    void download(long src, DType dtype, float[] dst, int dstOffset, int count) {
        enter();
        if (count == 0) return;
        int bs = dtype.byteSize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate((long) count * bs, 8);
            driver.memcpyDtoHAsync(host, src, (long) count * bs, stream);
            driver.streamSynchronize(stream);
            switch (dtype) {
                case F32 -> MemorySegment.copy(host, JAVA_FLOAT, 0, dst, dstOffset, count);
                case F16 -> { for (int i = 0; i < count; i++) dst[dstOffset + i] = DType.f16ToF32(host.getAtIndex(JAVA_SHORT, i)); }
                case BF16 -> { for (int i = 0; i < count; i++) dst[dstOffset + i] = DType.bf16ToF32(host.getAtIndex(JAVA_SHORT, i)); }
            }
        }
    }

    /** A new tensor holding a device copy of {@code t} (one async device-to-device copy). */
    Tensor deviceCopy(Tensor t) {
        enter();
        Tensor out = alloc(t.dtype(), t.shape());
        if (out.numel() > 0) driver.memcpyDtoDAsync(ptr(out), ptr(t), out.numel() * t.dtype().byteSize(), stream);
        return out;
    }

    @Override
    public Tensor upload(Tensor t, DType dtype) {
        enter();
        if (ours(t) && t.dtype() == dtype) return t;
        OpChecks.upload(t);
        Tensor out = alloc(dtype, t.shape());
        copyInto(t, dtype, ptr(out));
        return out;
    }

    @Override
    public Tensor zeros(int... shape) {
        enter();
        Tensor out = alloc(computeType, shape);
        if (out.numel() > 0) memset(ptr(out), (byte) 0, out.numel() * computeType.byteSize(), stream);
        return out;
    }

    @Override
    public Tensor full(float value, int... shape) {
        enter();
        Tensor out = alloc(computeType, shape);
        launchPacked("elementwise", "fill_" + suffix(computeType), out.numel(), ptr(out), out.numel(), value);
        return out;
    }

    // ---- linear algebra ----------------------------------------------------------------------

    private int cudaType() {
        return switch (computeType) { case F32 -> Cublas.CUDA_R_32F; case F16 -> Cublas.CUDA_R_16F; case BF16 -> Cublas.CUDA_R_16BF; };
    }

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        enter();
        int[] checked = OpChecks.matmul(a, b);
        if (a.rank() == 1 || b.rank() == 1) {
            // numpy's vector operands: a unit dimension added for the product and dropped from the result
            return matmul(a.rank() == 1 ? a.reshape(1, a.dim(0)) : a, b.rank() == 1 ? b.reshape(b.dim(0), 1) : b).reshape(checked);
        }
        int m = a.dim(-2), k = a.dim(-1), n = b.dim(-1);
        int[] ab = Arrays.copyOf(a.shape(), a.rank() - 2), bb = Arrays.copyOf(b.shape(), b.rank() - 2);
        int[] batch = Shapes.broadcast(ab, bb);
        long nb = Shapes.numel(batch), na = Shapes.numel(ab), nbb = Shapes.numel(bb);
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = alloc(computeType, outShape);
        if (out.numel() == 0) return out;
        int type = cudaType();
        try (Inputs in = new Inputs()) {
            long pa = in.of(a), pb = in.of(b), pc = ptr(out);
            if (k == 0) {
                memset(pc, (byte) 0, out.numel() * computeType.byteSize(), stream);
                return out;
            }
            int bs = computeType.byteSize();
            // row-major C = A B is column-major C^T = B^T A^T: cuBLAS's (m, n, k) = (n, m, k), A and B swapped
            if ((na == nb || na == 1) && (nbb == nb || nbb == 1)) {
                gemmStridedBatched( Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_N, n, m, k, one,
                        pb, type, n, nbb == 1 ? 0 : (long) k * n, pa, type, k, na == 1 ? 0 : (long) m * k,
                        zero, pc, type, n, (long) m * n, Math.toIntExact(nb), Cublas.CUBLAS_COMPUTE_32F);
            } else {
                long[] ai = broadcastIndex(batch, ab), bi = broadcastIndex(batch, bb);
                for (int i = 0; i < nb; i++) {
                    gemm( Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_N, n, m, k, one,
                            pb + bi[i] * k * n * bs, type, n, pa + ai[i] * m * k * bs, type, k,
                            zero, pc + (long) i * m * n * bs, type, n, Cublas.CUBLAS_COMPUTE_32F);
                }
            }
        }
        return out;
    }

    // one cuBLAS handle per backend: calls from several threads take turns (cuBLAS handles are not thread-safe)
    private synchronized void gemm(int ta, int tb, int m, int n, int k, MemorySegment alpha, long a, int at, int lda, long b, int bt,
                                   int ldb, MemorySegment beta, long c, int ct, int ldc, int compute) {
        blas.gemmEx(blasHandle, ta, tb, m, n, k, alpha, a, at, lda, b, bt, ldb, beta, c, ct, ldc, compute);
        counted();
    }

    private synchronized void gemmStridedBatched(int ta, int tb, int m, int n, int k, MemorySegment alpha, long a, int at, int lda,
                                                 long sa, long b, int bt, int ldb, long sb, MemorySegment beta, long c, int ct, int ldc,
                                                 long sc, int batch, int compute) {
        blas.gemmStridedBatchedEx(blasHandle, ta, tb, m, n, k, alpha, a, at, lda, sa, b, bt, ldb, sb, beta, c, ct, ldc, sc, batch, compute);
        counted();
    }

    /** For each batch index of {@code out}, the batch index of {@code src} it reads (numpy broadcasting). */
    static long[] broadcastIndex(int[] out, int[] src) {
        int r = out.length;
        long[] srcStride = Shapes.broadcastStrides(src, out);
        long n = Shapes.numel(out);
        long[] map = new long[Math.toIntExact(n)];
        long[] ost = Shapes.strides(out);
        for (int i = 0; i < n; i++) {
            long s = 0, rem = i;
            for (int d = 0; d < r; d++) {
                long c = rem / ost[d];
                rem %= ost[d];
                s += c * srcStride[d];
            }
            map[i] = s;
        }
        return map;
    }

    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        return linear(x, w, bias, Epilogue.NONE);
    }

    /** What cuBLASLt applies to the product before writing it. */
    public enum Epilogue {
        NONE,
        /**
         * GELU in cuBLASLt's tanh approximation (not the erf form of {@link #gelu}): for models
         * trained with approximate='tanh'.
         */
        GELU_TANH
    }

    /** x[..., in] @ w[out, in]^T (+ bias[out]), then the epilogue, in one cuBLASLt call when it can. */
    public Tensor linear(Tensor x, Tensor w, Tensor bias, Epilogue epilogue) {
        enter();
        return linear(x, w, bias, epilogue, null, OpChecks.linear(x, w, bias));
    }

    /** The residual enters cuBLASLt as C with beta = 1 (D = x·wᵀ + residual + bias, rounded once). */
    @Override
    public Tensor linearAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        enter();
        return linear(x, w, bias, Epilogue.NONE, residual, OpChecks.linearAdd(x, w, bias, residual));
    }

    private Tensor linear(Tensor x, Tensor w, Tensor bias, Epilogue epilogue, Tensor residual, int[] s) {
        int in = x.dim(-1), o = w.dim(0);
        int rows = Math.toIntExact(x.numel() / Math.max(1, in));
        Tensor out = alloc(computeType, s);
        if (out.numel() == 0) return out;
        try (Inputs ins = new Inputs()) {
            long px = ins.of(x), pw = ins.of(w), pb = bias == null ? 0 : ins.of(bias), py = ptr(out);
            long pr = residual == null ? 0 : ins.of(residual);
            long bytes = out.numel() * computeType.byteSize();
            if (in == 0) {
                if (residual != null) driver.memcpyDtoDAsync(py, pr, bytes, stream);
                else memset(py, (byte) 0, bytes, stream);
                if (bias != null) launchPacked("elementwise", "add_bias_" + suffix(computeType), out.numel(), py, pb, 0L, 1L, out.numel(), o, 1L);
                if (epilogue == Epilogue.GELU_TANH) throw new UnsupportedOperationException("GELU epilogue of an empty product");
                return out;
            }
            // column-major: C^T[o, rows] = W(col-major [in, o], transposed) x X^T (col-major [in, rows])
            boolean aligned = (px | pw | py | pb | pr) % 16 == 0;
            if (aligned && ltMatmul(o, rows, in, pw, px, py, pb, epilogue, pr)) return out;
            if (epilogue != Epilogue.NONE) {
                throw new CudaException("cuBLASLt has no algorithm for linear " + x + " x " + w + " with epilogue " + epilogue);
            }
            // cublasGemmEx: the residual copied into the result first, accumulated onto with beta = 1
            if (residual != null) driver.memcpyDtoDAsync(py, pr, bytes, stream);
            gemm( Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, o, rows, in, one, pw, cudaType(), in,
                    px, cudaType(), in, residual != null ? one : zero, py, cudaType(), o, Cublas.CUBLAS_COMPUTE_32F);
            if (bias != null) launchPacked("elementwise", "add_bias_" + suffix(computeType), out.numel(), py, pb, 0L, 1L, out.numel(), o, 1L);
        }
        return out;
    }

    /** G products of one input in one strided-batched GEMM: out[g] = x · w[g]ᵀ. */
    @Override
    public Tensor linearStack(Tensor x, Tensor w) {
        enter();
        int[] s = OpChecks.linearStack(x, w);
        int g = w.dim(0), o = w.dim(1), in = w.dim(2);
        int rows = Math.toIntExact(x.numel() / Math.max(1, in));
        Tensor out = alloc(computeType, s);
        if (out.numel() == 0) return out;
        try (Inputs ins = new Inputs()) {
            long px = ins.of(x), pw = ins.of(w), py = ptr(out);
            if (in == 0) {
                memset(py, (byte) 0, out.numel() * computeType.byteSize(), stream);
                return out;
            }
            // column-major per g: C_g^T[o, rows] = W_g (transposed) x X^T; x shared (stride 0)
            gemmStridedBatched(Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, o, rows, in, one, pw, cudaType(), in, (long) o * in,
                    px, cudaType(), in, 0, zero, py, cudaType(), o, (long) rows * o, g, Cublas.CUBLAS_COMPUTE_32F);
        }
        return out;
    }

    /**
     * One strided-batched GEMM writing each image's [out, h·w] plane (no permute), then one pass adding
     * bias and residual (rounded once): 2 launches where linear, permute and add took 3.
     */
    @Override
    public Tensor linearToImageAdd(Tensor x, Tensor w, Tensor bias, Tensor residual) {
        enter();
        int[] s = OpChecks.linearToImageAdd(x, w, bias, residual);
        int n = x.dim(0), hw = x.dim(1), in = x.dim(2), o = w.dim(0);
        Tensor out = alloc(computeType, s);
        if (out.numel() == 0) return out;
        try (Inputs ins = new Inputs()) {
            long px = ins.of(x), pw = ins.of(w), py = ptr(out);
            if (in == 0) memset(py, (byte) 0, out.numel() * computeType.byteSize(), stream);
            // column-major per image: Y_n[hw, o] (the NCHW plane, ld hw) = X_n (col-major [in, hw], transposed) x W^T (col-major [in, o])
            else gemmStridedBatched(Cublas.CUBLAS_OP_T, Cublas.CUBLAS_OP_N, hw, o, in, one, px, cudaType(), in, (long) hw * in,
                    pw, cudaType(), in, 0, zero, py, cudaType(), hw, (long) o * hw, n, Cublas.CUBLAS_COMPUTE_32F);
            launchPacked("elementwise", "add_bias_" + suffix(computeType), out.numel(), py, bias == null ? 0L : ins.of(bias), ins.of(residual), 1L,
                    out.numel(), o, (long) hw);
        }
        return out;
    }

    @Override public boolean stacksWeights() { return true; }

    private record LtKey(int m, int n, int k, boolean bias, Epilogue epilogue) {}

    private record LtPlan(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment algo) {}

    /** D = op(A) B (+ bias) via cuBLASLt with a cached plan; false when the heuristic offers no algorithm. */
    private synchronized boolean ltMatmul(int m, int n, int k, long pa, long pb, long pd, long bias, Epilogue epilogue, long residual) {
        LtKey key = new LtKey(m, n, k, bias != 0, epilogue);
        LtPlan plan = ltPlans.get(key);
        if (plan == null && !ltPlans.containsKey(key)) {
            if (ltWorkspace == 0) ltWorkspace = allocator.allocate(LT_WORKSPACE);
            int type = cudaType();
            MemorySegment desc = blas.matmulDesc(Cublas.CUBLAS_COMPUTE_32F, Cublas.CUDA_R_32F);
            blas.descSetInt(desc, Cublas.DESC_TRANSA, Cublas.CUBLAS_OP_T);
            blas.descSetInt(desc, Cublas.DESC_TRANSB, Cublas.CUBLAS_OP_N);
            int epi = switch (epilogue) {
                case NONE -> bias != 0 ? Cublas.EPILOGUE_BIAS : Cublas.EPILOGUE_DEFAULT;
                case GELU_TANH -> bias != 0 ? Cublas.EPILOGUE_GELU_BIAS : Cublas.EPILOGUE_GELU;
            };
            blas.descSetInt(desc, Cublas.DESC_EPILOGUE, epi);
            if (bias != 0) blas.descSetPointer(desc, Cublas.DESC_BIAS_POINTER, bias);
            MemorySegment la = blas.layout(type, k, m, k), lb = blas.layout(type, k, n, k), lc = blas.layout(type, m, n, m);
            MemorySegment algo = arena.allocate(64, 16);
            if (blas.heuristic(ltHandle, desc, la, lb, lc, lc, LT_WORKSPACE, algo)) {
                plan = new LtPlan(desc, la, lb, lc, algo);
            } else {
                LOG.debug("cuBLASLt heuristic has no algorithm for m={} n={} k={} {}; using cublasGemmEx", m, n, k, epilogue);
                blas.descDestroy(desc);
                blas.layoutDestroy(la);
                blas.layoutDestroy(lb);
                blas.layoutDestroy(lc);
            }
            ltPlans.put(key, plan);
        }
        if (plan == null) return false;
        if (bias != 0) blas.descSetPointer(plan.desc(), Cublas.DESC_BIAS_POINTER, bias);
        try {
            // C = the residual with beta 1 (same layout as D), else D itself with beta 0
            blas.ltMatmul(ltHandle, plan.desc(), one, pa, plan.a(), pb, plan.b(), residual != 0 ? one : zero, residual != 0 ? residual : pd,
                    plan.c(), pd, plan.c(), plan.algo(),
                    ltWorkspace, LT_WORKSPACE, stream, "m=" + m + " n=" + n + " k=" + k);
            counted();
        } catch (CudaException e) {
            // the plan is unusable (an algorithm the heuristic offered but the call refuses): cuBLAS from now on
            if (epilogue != Epilogue.NONE) throw e;
            LOG.warn("cuBLASLt failed for m={} n={} k={}, using cublasGemmEx for this shape: {}", m, n, k, e.getMessage());
            destroyPlan(plan);
            ltPlans.put(key, null);
            return false;
        }
        return true;
    }

    private void destroyPlan(LtPlan p) {
        blas.descDestroy(p.desc());
        blas.layoutDestroy(p.a());
        blas.layoutDestroy(p.b());
        blas.layoutDestroy(p.c());
    }

    @Override
    public Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        enter();
        OpChecks.conv2d(x, w, bias, stride, padding);
        return conv2d(x, w, bias, stride, padding, null);
    }

    /**
     * The residual (or per-image channel addend) is added with the bias, rounded once: in F16/BF16 by
     * conv_mma.cu's epilogue (one launch in all), in F32 by the bias kernel after the GEMM.
     */
    @Override
    public Tensor conv2dAdd(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        enter();
        OpChecks.conv2dAdd(x, w, bias, stride, padding, residual);
        return conv2d(x, w, bias, stride, padding, residual);
    }

    /** The most elements an im2col buffer holds: pixel chunks bound it (~128 MiB in 16 bits). */
    public static final long IM2COL_ELEMENTS = 64L << 20;

    /** Output pixels per im2col chunk for {@code images} images of {@code ck} rows and {@code hw} pixels each. */
    public static long im2colChunk(int images, long ck, long hw) { return Math.max(1, Math.min(hw, IM2COL_ELEMENTS / (ck * images))); }

    /**
     * The im2col + cuBLAS path F32 takes, for any compute type: the baseline the per-op benchmark
     * (CudaOpBenchmark) times beside the implicit-GEMM kernel that 16-bit types use.
     */
    public Tensor conv2dIm2col(Tensor x, Tensor w, Tensor bias, int stride, int padding) {
        enter();
        OpChecks.conv2d(x, w, bias, stride, padding);
        return conv2dIm2col(x, w, bias, stride, padding, null);
    }

    /** Whether a convolution in this compute type runs conv_mma.cu (one launch) rather than im2col + cuBLAS. */
    public static boolean implicitGemmConv(DType computeType) { return computeType != DType.F32; }

    /** Whether conv_mma.cu passed its self-check on this backend (null: not run yet; run on the first 16-bit convolution). */
    private volatile Boolean convMmaVerified;
    /** Tests only: makes the next self-check see a wrong result. */
    volatile boolean forceConvMismatch;

    /** Whether convolutions run conv_mma.cu: a 16-bit compute type and a passed self-check ({@link ConvMmaCheck}). */
    boolean useConvMma() {
        if (!implicitGemmConv(computeType)) return false;
        Boolean ok = convMmaVerified;
        if (ok == null) {
            ok = ConvMmaCheck.passes(this);
            convMmaVerified = ok;
        }
        return ok;
    }

    private Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        return useConvMma() ? conv2dImplicitGemm(x, w, bias, stride, padding, residual) : conv2dIm2col(x, w, bias, stride, padding, residual);
    }

    /** conv_mma.cu: one launch, bias and addend in its epilogue (shapes already checked). */
    Tensor conv2dImplicitGemm(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int o = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1;
        Tensor out = alloc(computeType, n, o, ho, wo);
        String variant = kh == 1 && kw == 1 ? "k1" : kh == 3 && kw == 3 ? "k3" : "kn";
        try (Inputs in = new Inputs()) {
            long px = in.of(x), pw = in.of(w), pb = bias == null ? 0L : in.of(bias), pr = residual == null ? 0L : in.of(residual);
            boolean perChannel = residual != null && residual.numel() != out.numel();
            boolean vecW = pw % 16 == 0 && ((long) c * kh * kw) % 8 == 0;
            launch("conv_mma", "conv_mma_" + suffix(computeType) + "_" + variant, n * implicitGemmPixelTiles(ho, wo),
                    Math.toIntExact(Math.ceilDiv(o, CONV_TILE)), 128, 0, px, pw, pb, pr, ptr(out), c, h, wd, o, kh, kw, stride, padding,
                    ho, wo, perChannel ? 1 : 0, vecW ? 1 : 0);
        }
        return out;
    }

    /** conv_mma.cu's tile: 64 output channels by 64 output pixels of one image per block. */
    private static final int CONV_TILE = 64;

    /** Blocks per image of conv_mma.cu along the output pixels. */
    private static long implicitGemmPixelTiles(int ho, int wo) { return Math.ceilDiv((long) ho * wo, CONV_TILE); }

    Tensor conv2dIm2col(Tensor x, Tensor w, Tensor bias, int stride, int padding, Tensor residual) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
        int o = w.dim(0), kh = w.dim(2), kw = w.dim(3);
        int ho = (h + 2 * padding - kh) / stride + 1, wo = (wd + 2 * padding - kw) / stride + 1;
        Tensor out = alloc(computeType, n, o, ho, wo);
        int ck = c * kh * kw;
        long hw = (long) ho * wo;
        int type = cudaType(), bs = computeType.byteSize();
        try (Inputs in = new Inputs()) {
            long px = in.of(x), pw = in.of(w), py = ptr(out);
            // column-major: Y^T[hw, o] = col^T[hw, ck] x W^T[ck, o], all images in one strided-batched GEMM
            if (kh == 1 && kw == 1 && stride == 1 && padding == 0) {
                gemmStridedBatched( Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_N, Math.toIntExact(hw), o, c, one,
                        px, type, Math.toIntExact(hw), (long) c * hw, pw, type, c, 0, zero, py, type, Math.toIntExact(hw),
                        (long) o * hw, n, Cublas.CUBLAS_COMPUTE_32F);
            } else {
                // im2col of every image per pixel chunk (at most IM2COL_ELEMENTS in all), then one GEMM per chunk
                long chunk = im2colChunk(n, ck, hw);
                CudaStorage col = temp(computeType, (long) n * ck * chunk);
                try {
                    for (long p0 = 0; p0 < hw; p0 += chunk) {
                        long np = Math.min(chunk, hw - p0);
                        launchN("shape", "im2col_" + suffix(computeType), (long) n * ck * np, px, col.pointer(), n, (long) c * h * wd,
                                c, h, wd, kh, kw, stride, padding, ho, wo, p0, np);
                        gemmStridedBatched( Cublas.CUBLAS_OP_N, Cublas.CUBLAS_OP_N, Math.toIntExact(np), o, ck, one,
                                col.pointer(), type, Math.toIntExact(np), (long) ck * np, pw, type, ck, 0, zero, py + p0 * bs, type,
                                Math.toIntExact(hw), (long) o * hw, n, Cublas.CUBLAS_COMPUTE_32F);
                    }
                } finally {
                    col.release();
                }
            }
            if (bias != null || residual != null) {
                // a [N, O, 1, 1] residual is read once per pixel plane
                long resInner = residual != null && residual.numel() != out.numel() ? hw : 1L;
                launchN("elementwise", "add_bias_" + suffix(computeType), out.numel(), py, bias == null ? 0L : in.of(bias),
                        residual == null ? 0L : in.of(residual), resInner, out.numel(), o, hw);
            }
        }
        return out;
    }

    // ---- normalisation and activations -------------------------------------------------------

    private static int rowThreads(long d) { return (int) Math.min(THREADS, Math.max(32, Math.ceilDiv(d, 32) * 32)); }

    @Override
    public Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu) {
        enter();
        OpChecks.groupNorm(x, groups, gamma, beta);
        return groupNorm(x, groups, gamma, beta, eps, silu, x.shape(), false);
    }

    /**
     * The kernels write the [N, h·w, C] layout directly (no permute launch), unless a split group's
     * tile would not fit in a launch's shared memory ({@link #groupNormTileBytes}): then the norm and a permute.
     */
    @Override
    public Tensor groupNormToTokens(Tensor x, int groups, Tensor gamma, Tensor beta, float eps) {
        enter();
        int[] s = OpChecks.groupNormToTokens(x, groups, gamma, beta);
        if (!groupNormWritesTokens(x.dim(1), groups, (long) x.dim(2) * x.dim(3))) {
            return Backend.super.groupNormToTokens(x, groups, gamma, beta, eps);
        }
        return groupNorm(x, groups, gamma, beta, eps, false, s, true);
    }

    /**
     * Shared memory of groupnorm_apply writing tokens: a block's channels of its group by its pixels
     * (an odd pitch), in F32; 0 where the group takes the one-block kernel (no tile).
     */
    public static long groupNormTileBytes(int channels, int groups, long spatial) {
        long cpg = channels / groups, size = cpg * spatial;
        if (size <= GROUP_NORM_SPLIT_ABOVE) return 0;
        long splits = Math.ceilDiv(size, GROUP_NORM_CHUNK);
        return cpg * (Math.ceilDiv(spatial, splits) | 1) * Float.BYTES;
    }

    /** Whether {@link #groupNormToTokens} writes the tokens in its own kernels (else it adds a permute). */
    public static boolean groupNormWritesTokens(int channels, int groups, long spatial) {
        return groupNormTileBytes(channels, groups, spatial) <= GROUP_NORM_TILE_LIMIT;
    }

    private Tensor groupNorm(Tensor x, int groups, Tensor gamma, Tensor beta, float eps, boolean silu, int[] shape, boolean tokens) {
        int n = x.dim(0), c = x.dim(1);
        long spatial = x.numel() / Math.max(1, (long) n * c);
        Tensor out = alloc(computeType, shape);
        long size = c / groups * spatial;
        try (Inputs in = new Inputs()) {
            long px = in.of(x), pg = in.of(gamma), pb = in.of(beta), po = ptr(out);
            if (size <= GROUP_NORM_SPLIT_ABOVE) {
                launch("norm", "groupnorm_" + suffix(computeType), (long) n * groups, 1, THREADS, 0, px, pg, pb, po, c, groups, spatial, eps,
                        silu ? 1 : 0, tokens ? 1 : 0);
                return out;
            }
            // large groups: (group, slice) blocks, partial statistics, then normalise (norm.cu)
            int splits = Math.toIntExact(Math.ceilDiv(size, GROUP_NORM_CHUNK));
            long blocks = (long) n * groups * splits;
            int perVector = 16 / computeType.byteSize();
            boolean vec = px % 16 == 0 && po % 16 == 0 && spatial % perVector == 0;
            int tile = tokens ? (int) groupNormTileBytes(c, groups, spatial) : 0;
            CudaStorage part = temp(DType.F32, 3 * blocks);
            try {
                launch("norm", "groupnorm_stats_" + suffix(computeType), blocks, 1, THREADS, 0, px, part.pointer(), size, GROUP_NORM_CHUNK, splits);
                launch("norm", "groupnorm_apply_" + suffix(computeType), blocks, 1, THREADS, tile, px, pg, pb, part.pointer(), po, c, groups,
                        spatial, GROUP_NORM_CHUNK, splits, eps, silu ? 1 : 0, vec ? 1 : 0, tokens ? 1 : 0);
            } finally {
                part.release();
            }
        }
        return out;
    }

    @Override
    public Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        enter();
        OpChecks.layerNorm(x, gamma, beta);
        int d = x.dim(-1);
        long rows = x.numel() / Math.max(1, d);
        Tensor out = alloc(computeType, x.shape());
        try (Inputs in = new Inputs()) {
            long pg = in.of(gamma);
            // rows of a multiple of 8 go 8 values per thread (norm.cu) where aligned: a thread per 8
            launch("norm", "layernorm_" + suffix(computeType), rows, 1, rowThreads(d % 8 == 0 ? d / 8 : d), 0,
                    in.of(x), pg, beta == null ? pg : in.of(beta), ptr(out), d, eps, beta == null ? 0 : 1);
        }
        return out;
    }

    private Tensor unary(Tensor x, int op, float a, float b) {
        enter();
        Tensor out = alloc(computeType, x.shape());
        try (Inputs in = new Inputs()) {
            launchPacked("elementwise", "unary_" + suffix(computeType), x.numel(), in.of(x), ptr(out), x.numel(), op, a, b);
        }
        return out;
    }

    @Override public Tensor silu(Tensor x) { return unary(x, 0, 0f, 0f); }
    @Override public Tensor gelu(Tensor x) { return unary(x, 1, 0f, 0f); }
    @Override public Tensor quickGelu(Tensor x) { return unary(x, 2, 0f, 0f); }
    @Override public Tensor exp(Tensor x) { return unary(x, 3, 0f, 0f); }
    @Override public Tensor affine(Tensor x, float scale, float shift) { return unary(x, 4, scale, shift); }

    @Override
    public Tensor clamp(Tensor x, float min, float max) {
        OpChecks.clamp(min, max);
        return unary(x, 5, min, max);
    }

    @Override
    public Tensor geglu(Tensor x) {
        enter();
        int[] s = OpChecks.geglu(x);
        int d2 = x.dim(-1), d = d2 / 2;
        long rows = x.numel() / Math.max(1, d2);
        Tensor out = alloc(computeType, s);
        try (Inputs in = new Inputs()) {
            launchPacked("elementwise", "geglu_" + suffix(computeType), rows * d, in.of(x), ptr(out), rows, d);
        }
        return out;
    }

    @Override
    public Tensor softmax(Tensor x) {
        enter();
        OpChecks.softmax(x);
        int d = x.dim(-1);
        long rows = x.numel() / Math.max(1, d);
        Tensor out = alloc(computeType, x.shape());
        if (d == 0) return out;
        try (Inputs in = new Inputs()) {
            launch("norm", "softmax_" + suffix(computeType), rows, 1, rowThreads(d), 0, in.of(x), ptr(out), d);
        }
        return out;
    }

    @Override
    public Tensor attention(Tensor q, Tensor k, Tensor v, boolean causal) {
        enter();
        OpChecks.attention(q, k, v);
        int b = q.dim(0), h = q.dim(1), sq = q.dim(2), d = q.dim(3), sk = k.dim(2), dv = v.dim(3);
        if (sk > 0 && sq > 0 && useFused(d, dv, causal)) {
            Tensor out = alloc(computeType, b, h, sq, dv);
            try (Inputs in = new Inputs()) {
                long hs = (long) sq * d, hk = (long) sk * d;
                launchFused(in.of(q), in.of(k), in.of(v), ptr(out), b, h, sq, sk, d,
                        new long[] {h * hs, hs, d}, new long[] {h * hk, hk, d}, new long[] {h * hk, hk, d}, new long[] {h * hs, hs, d});
            }
            return out;
        }
        int dmax = Math.max(d, dv);
        int bucket, bk;
        if (dmax <= 32) { bucket = 32; bk = 64; }
        else if (dmax <= 64) { bucket = 64; bk = 64; }
        else if (dmax <= 128) { bucket = 128; bk = 32; }
        else if (dmax <= 256) { bucket = 256; bk = 8; }
        else if (dmax <= 512) { bucket = 512; bk = 8; }
        else throw new IllegalArgumentException("attention: head size " + dmax + " > " + MAX_HEAD_SIZE + " is not supported on CUDA");
        int bq = 16;
        // d512 keeps the query rows in registers (flash_attn_wide_k): shared memory holds only K and V
        int shared = bucket == 512 ? 4 * 2 * bk * (bucket + 1) : 4 * (bq * (bucket + 1) + 2 * bk * (bucket + 1) + bq * (bk + 1));
        Tensor out = alloc(computeType, b, h, sq, dv);
        if (out.numel() == 0) return out;
        try (Inputs in = new Inputs()) {
            long pq = in.of(q), pk = in.of(k), pv = in.of(v);
            if (sk == 0) {
                memset(ptr(out), (byte) 0, out.numel() * computeType.byteSize(), stream);
                return out;
            }
            launch("attention", "flash_attn_" + suffix(computeType) + "_d" + bucket, Math.ceilDiv(sq, bq), b * h, 128, shared,
                    pq, pk, pv, ptr(out), sq, sk, d, dv, (float) (1.0 / Math.sqrt(d)), causal ? 1 : 0);
        }
        return out;
    }

    @Override
    public Tensor attentionHeads(Tensor q, Tensor k, Tensor v, int heads) {
        enter();
        if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3 || heads <= 0 || q.dim(2) % heads != 0) {
            return Backend.super.attentionHeads(q, k, v, heads);   // its checks name the problem
        }
        int b = q.dim(0), sq = q.dim(1), sk = k.dim(1), hd = q.dim(2), d = hd / heads;
        boolean shapesAgree = k.dim(0) == b && v.dim(0) == b && v.dim(1) == sk && k.dim(2) == hd && v.dim(2) == hd;
        if (!shapesAgree || sq == 0 || sk == 0 || !useFused(d, d, false)) return Backend.super.attentionHeads(q, k, v, heads);
        Tensor out = alloc(computeType, b, sq, hd);
        try (Inputs in = new Inputs()) {
            // [B, S, H*D]: a head is D columns of every row, no permute needed
            long[] qs = {(long) sq * hd, d, hd}, ks = {(long) sk * hd, d, hd};
            launchFused(in.of(q), in.of(k), in.of(v), ptr(out), b, heads, sq, sk, d, qs, ks, ks, qs);
        }
        return out;
    }

    // ---- fused tensor-core attention (flash_mma.cu) -------------------------------------------

    /** Head sizes (with equal key and value sizes) that flash_mma.cu has a kernel for. */
    public static boolean fusedHeadSize(int d) { return d >= 64 && d <= 128 && d % 16 == 0; }

    /** By head size: whether the fused kernel passed its self-check on this device (absent: not run yet). */
    private final Map<Integer, Boolean> fusedVerified = new java.util.concurrent.ConcurrentHashMap<>();
    /** Tests only: makes the next self-checks see a wrong result. */
    volatile boolean forceFusedMismatch;

    /**
     * Whether attention of this shape class runs on the tensor-core kernel: 16-bit storage, no mask,
     * a supported head size, and a passed self-check (run once per head size on first use).
     */
    boolean useFused(int d, int dv, boolean causal) {
        if (computeType == DType.F32 || causal || d != dv || !fusedHeadSize(d)) return false;
        Boolean ok = fusedVerified.get(d);
        if (ok == null) {
            if (root.recording != null) {
                throw new CudaException("the tensor-core attention self-check (head size " + d + ") has not run before the CUDA graph "
                        + "capture: it reads its result back to the host, which a capture cannot");
            }
            ok = FusedAttentionCheck.passes(this, d);
            fusedVerified.put(d, ok);
        }
        return ok;
    }

    /** Strides are {batch, head, row} in elements for q, k, v and o. */
    void launchFused(long q, long k, long v, long o, int b, int heads, int sq, int sk, int d,
                     long[] qs, long[] ks, long[] vs, long[] os) {
        launch("flash_mma", "flash_mma_" + suffix(computeType) + "_d" + d, Math.ceilDiv(sq, 64), b * heads, 128, 0,
                q, k, v, o, sq, sk, heads, qs[0], qs[1], qs[2], ks[0], ks[1], ks[2], vs[0], vs[1], vs[2], os[0], os[1], os[2],
                (float) (1.0 / Math.sqrt(d)), vectorLoads(k, ks) && vectorLoads(v, vs) ? 1 : 0);
    }

    /** Whether 16-bit rows at {@code address} with these element strides can be read 16 bytes at a time. */
    private static boolean vectorLoads(long address, long[] strides) {
        return address % 16 == 0 && strides[0] % 8 == 0 && strides[1] % 8 == 0 && strides[2] % 8 == 0;
    }

    /**
     * Runs one warp of mma.m16n8k16 on raw fragments (see mma_probe in flash_mma.cu): lane l's A
     * elements are a[8l..8l+7], its B elements b[4l..4l+3] (raw 16-bit values of the compute type);
     * returns each lane's four F32 D elements, d[4l..4l+3].
     */
    float[] mmaProbe(short[] a, short[] b) {
        enter();
        if (computeType == DType.F32) throw new IllegalStateException("mma probe needs a 16-bit compute type");
        CudaStorage da = temp(computeType, a.length), db = temp(computeType, b.length), dd = temp(DType.F32, 128);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ha = arena.allocateFrom(JAVA_SHORT, a), hb = arena.allocateFrom(JAVA_SHORT, b), hd = arena.allocate(512);
            driver.memcpyHtoDAsync(da.pointer(), ha, 2L * a.length, stream);
            driver.memcpyHtoDAsync(db.pointer(), hb, 2L * b.length, stream);
            launch("flash_mma", "mma_probe_" + suffix(computeType), 1, 1, 32, 0, da.pointer(), db.pointer(), dd.pointer());
            driver.memcpyDtoHAsync(hd, dd.pointer(), 512, stream);
            driver.streamSynchronize(stream);
            return hd.toArray(JAVA_FLOAT);
        } finally {
            da.release();
            db.release();
            dd.release();
        }
    }

    // ---- elementwise -------------------------------------------------------------------------

    private Tensor binary(Tensor a, Tensor b, int op) {
        enter();
        int[] s = Shapes.broadcast(a.shape(), b.shape());
        if (s.length > Index6.MAX) throw new IllegalArgumentException("broadcast of rank " + s.length + " > " + Index6.MAX + " on CUDA");
        Tensor out = alloc(computeType, s);
        boolean contiguous = Arrays.equals(a.shape(), s) && Arrays.equals(b.shape(), s);
        Index6 ix = new Index6(s.length, contiguous, toLong(s), Shapes.broadcastStrides(a.shape(), s), Shapes.broadcastStrides(b.shape(), s));
        try (Inputs in = new Inputs()) {
            // broadcasting takes the scalar path: a thread per value
            long threads = contiguous ? Math.ceilDiv(out.numel(), 8) : out.numel();
            launchN("elementwise", "binary_" + suffix(computeType), threads, in.of(a), in.of(b), ptr(out), out.numel(), op, ix);
        }
        return out;
    }

    private static long[] toLong(int[] s) {
        long[] r = new long[s.length];
        for (int i = 0; i < s.length; i++) r[i] = s[i];
        return r;
    }

    @Override public Tensor add(Tensor a, Tensor b) { return binary(a, b, 0); }
    @Override public Tensor sub(Tensor a, Tensor b) { return binary(a, b, 1); }
    @Override public Tensor mul(Tensor a, Tensor b) { return binary(a, b, 2); }
    @Override public Tensor div(Tensor a, Tensor b) { return binary(a, b, 3); }

    // ---- shape -------------------------------------------------------------------------------

    private void copyRows(long src, long dst, long outer, long len, long srcStride, long srcOff, long dstStride, long dstOff) {
        launchN("shape", "copy_rows_" + suffix(computeType), outer * len, src, dst, outer, len, srcStride, srcOff, dstStride, dstOff);
    }

    @Override
    public Tensor concat(int dim, List<Tensor> parts) {
        enter();
        int[] os = OpChecks.concat(dim, parts);
        int[] s0 = parts.get(0).shape();
        int d = Shapes.normDim(dim, s0.length);
        int total = os[d];
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= s0[i];
        for (int i = d + 1; i < s0.length; i++) inner *= s0[i];
        Tensor out = alloc(computeType, os);
        long at = 0;
        try (Inputs in = new Inputs()) {
            for (Tensor t : parts) {
                long len = t.dim(d) * inner;
                if (len > 0) copyRows(in.of(t), ptr(out), outer, len, len, 0, total * inner, at);
                at += len;
            }
        }
        return out;
    }

    @Override
    public Tensor narrow(Tensor x, int dim, int start, int length) {
        enter();
        int d = OpChecks.narrow(x, dim, start, length);
        int[] s = x.shape();
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= s[i];
        for (int i = d + 1; i < s.length; i++) inner *= s[i];
        int[] os = s.clone();
        os[d] = length;
        Tensor out = alloc(computeType, os);
        long len = length * inner;
        try (Inputs in = new Inputs()) {
            if (len > 0) copyRows(in.of(x), ptr(out), outer, len, s[d] * inner, start * inner, len, 0);
        }
        return out;
    }

    @Override
    public Tensor permute(Tensor x, int... perm) {
        enter();
        perm = OpChecks.permute(x, perm);
        int[] s = x.shape();
        int r = s.length;
        if (r > Index6.MAX) throw new IllegalArgumentException("permute of rank " + r + " > " + Index6.MAX + " on CUDA");
        int[] os = new int[r];
        long[] st = Shapes.strides(s), pst = new long[r];
        for (int i = 0; i < r; i++) {
            os[i] = s[perm[i]];
            pst[i] = st[perm[i]];
        }
        Tensor out = alloc(computeType, os);
        try (Inputs in = new Inputs()) {
            launchN("shape", "permute_" + suffix(computeType), out.numel(), in.of(x), ptr(out), out.numel(),
                    new Index6(r, false, toLong(os), pst, null));
        }
        return out;
    }

    @Override
    public Tensor upsampleNearest2x(Tensor x) {
        enter();
        OpChecks.upsampleNearest2x(x);
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor out = alloc(computeType, n, c, 2 * h, 2 * w);
        try (Inputs in = new Inputs()) {
            launchN("shape", "upsample2x_" + suffix(computeType), out.numel(), in.of(x), ptr(out), (long) n * c, h, w);
        }
        return out;
    }

    @Override
    public Tensor embedding(Tensor table, int[] ids) {
        enter();
        OpChecks.embedding(table, ids);
        int d = table.dim(1);
        Tensor out = alloc(computeType, ids.length, d);
        if (ids.length == 0) return out;
        refuseHostUpload("the " + ids.length + " ids of an embedding lookup");
        CudaStorage idBuf = new CudaStorage(this, allocator, allocator.allocate(4L * ids.length), DType.F32, ids.length);
        try (Inputs in = new Inputs(); Arena a = Arena.ofConfined()) {
            driver.memcpyHtoDAsync(idBuf.pointer(), a.allocateFrom(JAVA_INT, ids), 4L * ids.length, stream);
            launchN("shape", "embedding_" + suffix(computeType), (long) ids.length * d, in.of(table), idBuf.pointer(), ptr(out), ids.length, d);
        } finally {
            idBuf.release();
        }
        return out;
    }

    @Override
    public Tensor sum(Tensor x, int dim, boolean keepDim) {
        enter();
        int[] os = OpChecks.sum(x, dim, keepDim);
        if (x.rank() == 0) return affine(x, 1f, 0f);   // torch: the sum of a scalar is the scalar
        int[] s = x.shape();
        int d = Shapes.normDim(dim, s.length);
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= s[i];
        for (int i = d + 1; i < s.length; i++) inner *= s[i];
        Tensor out = alloc(computeType, os);
        try (Inputs in = new Inputs()) {
            launchN("norm", "sum_" + suffix(computeType), outer * inner, in.of(x), ptr(out), outer, s[d], inner);
        }
        return out;
    }

    // ---- lifecycle ---------------------------------------------------------------------------

    /** Frees every device block, the library handles, the stream and the context reference. */
    @Override
    public synchronized void close() {
        if (root != this || closed) return;   // a view owns nothing
        enter();
        driver.streamSynchronize(stream);
        for (CudaGraph g : List.copyOf(graphs)) g.close();
        closed = true;
        for (LtPlan p : ltPlans.values()) if (p != null) destroyPlan(p);
        ltPlans.clear();
        synchronized (views) {
            for (CudaBackend v : views.values()) {
                for (LtPlan p : v.ltPlans.values()) if (p != null) destroyPlan(p);
                v.ltPlans.clear();
            }
        }
        blas.ltDestroy(ltHandle);
        blas.destroy(blasHandle);
        allocator.releaseAll();
        for (MemorySegment m : modules.values()) driver.moduleUnload(m);
        modules.clear();
        functions.clear();
        driver.streamDestroy(stream);
        driver.primaryContextRelease(cuDevice);
        arena.close();
    }

    @Override
    public String toString() { return "CudaBackend[" + info + ", " + computeType + "]"; }
}
