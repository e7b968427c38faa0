package io.jdiffusion.tensor.cpu;

import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Weights in native or mapped memory (safetensors files, F16/BF16/F32) converted to F32 heap arrays
 * once, when a model is loaded ({@link CpuBackend#upload}), instead of on every call that reads
 * them; the first step is then as fast as the rest. Bounded by a budget
 * ({@code -Djdiffusion.cpu.weightCacheMiB}, default: three quarters of the heap the JVM may use,
 * at most all but 2 GiB, leaving room for activations), counted over the converted weights still reachable; past it, weights stay where
 * they are and are converted on every read, as before.
 * A converted range of a mapped file is unloaded from memory (the F32 copy replaces it), so
 * the process does not hold both.
 */
final class WeightCache {
    private WeightCache() {}

    /** F32 bytes of converted weights still reachable (given back when their tensor is collected). */
    private static final AtomicLong USED = new AtomicLong();

    private static final Cleaner CLEANER = Cleaner.create();

    /** A thread that is not the caller, to ask whether a segment may be read by the pool's threads. */
    private static final Thread OTHER_THREAD = new Thread(() -> { });

    /** Set while a component loads whose weights should stay where they are ({@link CpuBackend#withWeightsInPlace}). */
    private static final ThreadLocal<Boolean> IN_PLACE = ThreadLocal.withInitial(() -> false);

    /** Elements converted per parallel work item. */
    private static final int CHUNK = 1 << 18;

    /** The budget in bytes; read on every upload, so a caller (or a test) may change the property between loads. */
    static long budgetBytes() {
        String mib = System.getProperty("jdiffusion.cpu.weightCacheMiB");
        if (mib == null) { // room for activations and for G1's humongous-region slack: at least 2 GiB and a quarter
            long max = Runtime.getRuntime().maxMemory();
            return Math.max(0, Math.min(max - (2L << 30), max / 4 * 3));
        }
        try {
            long v = Long.parseLong(mib.trim());
            if (v >= 0) return v << 20;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("jdiffusion.cpu.weightCacheMiB must be a whole number of MiB >= 0, got '" + mib + "'");
    }

    /**
     * {@code t} as F32 on the heap: a matrix (a linear layer's weight [out, in]) or a convolution's
     * weight [out, in, kh, kw] packed in the panels the GEMM reads ({@link PanelStorage}: B panels
     * of NR rows for a linear weight, A panels of MR rows for a convolution's), anything else row-major.
     */
    static Tensor convert(Tensor t, boolean parallel) { return convert(t, parallel, 0); }

    /** As {@link #convert(Tensor, boolean)}, a packed matrix placed in a shared slab of up to {@code slabFloats} ({@link WeightSlabs}). */
    static Tensor convert(Tensor t, boolean parallel, long slabFloats) {
        int[] s = t.shape();
        CpuGemm.MicroKernel kern = CpuGemm.kernel();
        int width = s.length == 2 ? kern.nr() : s.length == 4 ? kern.mr() : 0;
        if (width == 0 || t.numel() == 0) {
            float[] f = new float[Math.toIntExact(t.numel())];
            int chunks = (f.length + CHUNK - 1) / CHUNK;
            forChunks(chunks, CHUNK, parallel, c -> {
                int from = c * CHUNK;
                t.storage().readFloats(t.offset() + from, f, from, Math.min(CHUNK, f.length - from));
            });
            return Tensor.of(f, s);
        }
        int rows = s[0], cols = Math.toIntExact(t.numel() / rows);
        int length = Math.toIntExact(PanelStorage.packedLength(rows, cols, width));
        WeightSlabs.Place place = slabFloats > 0 ? WeightSlabs.place(length, slabFloats) : new WeightSlabs.Place(new float[length], 0);
        float[] data = place.data();
        int base = place.base();
        int panels = (rows + width - 1) / width;
        ThreadLocal<float[]> rowBuf = ThreadLocal.withInitial(() -> new float[width * cols]);
        forChunks(panels, (long) width * cols, parallel, q -> {
            int r0 = q * width, n = Math.min(width, rows - r0);
            float[] tmp = rowBuf.get();
            t.storage().readFloats(t.offset() + (long) r0 * cols, tmp, 0, n * cols);
            PanelStorage.pack(tmp, r0, data, r0, n, cols, width, 0, base);
        });
        return new Tensor(new PanelStorage(data, base, rows, cols, width), s);
    }

    private static void forChunks(int n, long work, boolean parallel, Parallel.IntBody body) {
        if (parallel) {
            Parallel.forRange(n, work, body);
        } else { // a confined arena: only this thread may read it
            for (int i = 0; i < n; i++) body.accept(i);
        }
    }

    /** Runs {@code load} with every upload on this thread left in place (not converted, not counted). */
    static <T> T inPlace(java.util.function.Supplier<T> load) {
        boolean before = IN_PLACE.get();
        IN_PLACE.set(true);
        try {
            return load.get();
        } finally {
            IN_PLACE.set(before);
        }
    }

    /** Set by {@link #dropped}: converted weights became unreachable and the collector may not have counted them back yet. */
    private static volatile boolean reclaimable;

    static void dropped() {
        reclaimable = true;
        WeightSlabs.closeAll();
    }

    /**
     * Runs the collector once so that dropped weights give their bytes back ({@link #USED} falls as
     * the cleaner runs): waits until the count has fallen and then stays put for 50 ms, 3 s at most.
     */
    private static void reclaim() {
        reclaimable = false;
        long before = USED.get();
        System.gc();
        long deadline = System.nanoTime() + 3_000_000_000L, last = before;
        try {
            while (System.nanoTime() < deadline) {
                Thread.sleep(50);
                long now = USED.get();
                if (now < before && now == last) return;
                last = now;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether {@code t} lies in native or mapped memory that the GEMM's pool threads may read (not a confined arena's). */
    static boolean readableByPool(Tensor t) {
        return t.storage() instanceof SegmentStorage(MemorySegment seg, var _) && seg.isAccessibleBy(OTHER_THREAD);
    }

    /** F32 bytes of converted weights still reachable. */
    static long usedBytes() { return USED.get(); }

    /** {@code t} as an F32 heap tensor when it lies in native or mapped memory and the budget allows, else {@code t}. */
    static Tensor convertOnce(Tensor t) {
        if (!(t.storage() instanceof SegmentStorage(MemorySegment seg, var _))) return t;
        GemmWarmup.start(); // a model is being loaded: compile the GEMM meanwhile (also for the text encoders left in place)
        if (IN_PLACE.get()) return t;
        long bytes = 4L * t.numel(), budget = budgetBytes(), used = USED.addAndGet(bytes);
        if (used > budget && reclaimable) {
            USED.addAndGet(-bytes);
            reclaim();
            used = USED.addAndGet(bytes);
        }
        if (used > budget) {
            USED.addAndGet(-bytes);
            return t;
        }
        long slabFloats = (budget - used) / 4 + t.numel(); // a slab never outgrows what the budget has left
        Tensor f32 = convert(t, seg.isAccessibleBy(OTHER_THREAD), slabFloats);
        CLEANER.register(f32.storage(), () -> USED.addAndGet(-bytes)); // views share the storage
        if (seg.isMapped()) seg.unload();
        return f32;
    }
}
