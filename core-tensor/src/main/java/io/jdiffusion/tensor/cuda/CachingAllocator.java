package io.jdiffusion.tensor.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Device memory bookkeeping: blocks are rounded up to size classes and, when freed, kept in a
 * per-class free list for the next request of that class instead of going back to the driver
 * (cuMemAlloc/cuMemFree synchronise the device and cost far more than a kernel).
 *
 * <p>Reuse is safe without events because every kernel and copy of a backend goes to its one
 * stream: work that reads a block was queued before the block was freed, and work that writes
 * the block's next owner is queued after, so the stream orders them. Blocks return to the driver
 * only in {@link #emptyCache()}, which synchronises first.
 *
 * <p>CUDA graphs: while a {@link Pool} captures ({@link #beginCapture}), every block handed out
 * or freed belongs to that pool: a replay of the graph writes those blocks again, so they must not
 * serve anyone else while the graph lives. Freed pool blocks go to the pool's own free lists, not
 * the shared ones; {@link #releasePool} (when the graph is destroyed) hands them back. No block
 * goes back to the driver during a capture (that would synchronise the captured stream).
 *
 * <p>The class knows nothing of CUDA: {@link RawMemory} is the driver (or a fake in tests).
 */
public final class CachingAllocator {
    /** Where blocks come from. */
    public interface RawMemory {
        /** A new block of {@code bytes}, or 0 when the device is out of memory. */
        long allocate(long bytes);

        void free(long pointer);

        /** Waits until no queued work can still touch any block (before blocks go back to the driver). */
        void synchronize();
    }

    /** Byte counts: in use by live tensors, reserved from the driver (in use + cached), and their peaks. */
    public record Stats(long inUse, long reserved, long peakInUse, long peakReserved, long allocations, long cacheHits,
                        long driverAllocations) {
        public long cached() { return reserved - inUse; }
    }

    static final long MIN_BLOCK = 512;

    /** The blocks of one CUDA graph (PyTorch's graph_pool_handle): reserved for it until {@link #releasePool}. */
    public static final class Pool {
        private final java.util.Set<Long> blocks = new java.util.HashSet<>();
        private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
        private long bytes;
        private boolean released;

        /** Bytes of the blocks this pool holds (live or free). */
        public long bytes() { return bytes; }
    }

    private final RawMemory raw;
    private final long budget;
    private final Map<Long, Long> live = new HashMap<>();
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long inUse, reserved, peakInUse, peakReserved, allocations, cacheHits, driverAllocations;
    /** Which pool each pool block belongs to, and the pool capturing now (null: none). */
    private final Map<Long, Pool> poolOf = new HashMap<>();
    private final java.util.Set<Pool> pools = new java.util.HashSet<>();
    private Pool capturing;

    /** {@code budgetBytes} caps the bytes reserved from the driver; 0 or less means no cap. */
    public CachingAllocator(RawMemory raw, long budgetBytes) {
        this.raw = raw;
        this.budget = budgetBytes;
    }

    public long budget() { return budget; }

    /**
     * The block size serving a request: at least 512 bytes, else rounded up to a quarter of the
     * request's power of two (four classes per doubling, so at most 25% is wasted).
     */
    public static long sizeClass(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative allocation size " + bytes);
        if (bytes <= MIN_BLOCK) return MIN_BLOCK;
        long p = Long.highestOneBit(bytes);
        long step = Math.max(MIN_BLOCK, p >> 2);
        return Math.ceilDiv(bytes, step) * step;
    }

    /** A device pointer to at least {@code bytes} bytes. */
    public synchronized long allocate(long bytes) {
        long cls = sizeClass(bytes);
        allocations++;
        ArrayDeque<Long> list = free.get(cls);
        ArrayDeque<Long> own = capturing == null ? null : capturing.free.get(cls);
        long ptr;
        if (own != null && !own.isEmpty()) {
            ptr = own.pop();
            cacheHits++;
        } else if (list != null && !list.isEmpty()) {
            ptr = list.pop();
            cacheHits++;
            if (capturing != null) adopt(capturing, ptr, cls);
        } else if (capturing != null) {
            // no synchronising release of cached blocks in a capture: a new block or a refusal
            if (budget > 0 && reserved + cls > budget) {
                throw new CudaException("CUDA memory budget exceeded during a CUDA graph capture: requested " + bytes + " bytes (block of "
                        + cls + "), " + reserved + " bytes reserved, budget " + budget + " bytes (jdiffusion.cuda.budget)");
            }
            ptr = raw.allocate(cls);
            if (ptr == 0) {
                throw new CudaException("CUDA out of memory during a CUDA graph capture: requested " + bytes + " bytes (block of " + cls
                        + "), " + inUse + " bytes in use by tensors, " + reserved + " reserved");
            }
            driverAllocations++;
            reserved += cls;
            peakReserved = Math.max(peakReserved, reserved);
            adopt(capturing, ptr, cls);
        } else {
            if (budget > 0 && reserved + cls > budget) {
                releaseCached();
                if (inUse + cls > budget) {
                    throw new CudaException("CUDA memory budget exceeded: requested " + bytes + " bytes (block of " + cls
                            + "), " + inUse + " bytes in use, budget " + budget + " bytes (jdiffusion.cuda.budget)");
                }
            }
            ptr = raw.allocate(cls);
            if (ptr == 0) {
                releaseCached();
                ptr = raw.allocate(cls);
                if (ptr == 0) {
                    throw new CudaException("CUDA out of memory: requested " + bytes + " bytes (block of " + cls + "), "
                            + inUse + " bytes in use by tensors, " + reserved + " reserved");
                }
            }
            driverAllocations++;
            reserved += cls;
            peakReserved = Math.max(peakReserved, reserved);
        }
        live.put(ptr, cls);
        inUse += cls;
        peakInUse = Math.max(peakInUse, inUse);
        return ptr;
    }

    /** Returns a block to its class's free list. */
    public synchronized void free(long ptr) {
        Long cls = live.remove(ptr);
        if (cls == null) throw new IllegalStateException("free of pointer 0x" + Long.toHexString(ptr) + " that is not allocated (double free?)");
        inUse -= cls;
        Pool pool = poolOf.get(ptr);
        // a block freed during a capture may still be read by the captured work: the graph keeps it too
        if (pool == null && capturing != null) adopt(pool = capturing, ptr, cls);
        (pool != null ? pool.free : free).computeIfAbsent(cls, k -> new ArrayDeque<>()).push(ptr);
    }

    private void adopt(Pool pool, long ptr, long cls) {
        pool.blocks.add(ptr);
        pool.bytes += cls;
        poolOf.put(ptr, pool);
    }

    // ---- CUDA graph pools ----------------------------------------------------------------------

    /** From now until {@link #endCapture}, blocks handed out or freed belong to {@code pool} (a new one when null); returns it. */
    public synchronized Pool beginCapture(Pool pool) {
        if (capturing != null) throw new IllegalStateException("a CUDA graph capture is already in progress");
        Pool p = pool != null ? pool : new Pool();
        if (p.released) throw new IllegalStateException("capture into a released graph pool");
        pools.add(p);
        capturing = p;
        return p;
    }

    public synchronized void endCapture() { capturing = null; }

    /** Whether a capture is in progress. */
    public synchronized boolean isCapturing() { return capturing != null; }

    /**
     * The graph of {@code pool} is gone: its free blocks join the shared free lists, its live ones
     * (tensors that outlive the graph) become ordinary blocks, freed to the shared lists later.
     */
    public synchronized void releasePool(Pool pool) {
        if (pool.released) return;
        if (capturing == pool) capturing = null;
        for (long p : pool.blocks) poolOf.remove(p);
        for (var e : pool.free.entrySet()) free.computeIfAbsent(e.getKey(), k -> new ArrayDeque<>()).addAll(e.getValue());
        pool.free.clear();
        pool.blocks.clear();
        pool.bytes = 0;
        pool.released = true;
        pools.remove(pool);
    }

    /** Bytes held by the pools of live graphs (live or free), which eager allocations cannot use. */
    public synchronized long graphPoolBytes() {
        long b = 0;
        for (Pool p : pools) b += p.bytes;
        return b;
    }

    /**
     * Like {@link #free} for owners that may outlive the allocator's books (a tensor closed after
     * its backend, whose {@link #releaseAll()} already took the block back): false when not live.
     */
    public synchronized boolean release(long ptr) {
        if (!live.containsKey(ptr)) return false;
        free(ptr);
        return true;
    }

    /** Whether {@code ptr} is a live block of this allocator. */
    public synchronized boolean isLive(long ptr) { return live.containsKey(ptr); }

    /** Gives every cached (free) block back to the driver. */
    public synchronized void emptyCache() { releaseCached(); }

    private void releaseCached() {
        if (capturing != null) return;   // no stream synchronisation inside a capture
        boolean any = free.values().stream().anyMatch(l -> !l.isEmpty());
        if (!any) return;
        raw.synchronize();
        for (var e : free.entrySet()) {
            for (long p : e.getValue()) {
                raw.free(p);
                reserved -= e.getKey();
            }
            e.getValue().clear();
        }
    }

    /** Frees every block, live or cached (when the device context goes away). */
    public synchronized void releaseAll() {
        for (Pool p : List.copyOf(pools)) releasePool(p);
        for (long p : live.keySet()) free.computeIfAbsent(live.get(p), k -> new ArrayDeque<>()).push(p);
        live.clear();
        inUse = 0;
        releaseCached();
    }

    public synchronized Stats stats() {
        return new Stats(inUse, reserved, peakInUse, peakReserved, allocations, cacheHits, driverAllocations);
    }

    /** Starts peak tracking afresh from the current values. */
    public synchronized void resetPeaks() {
        peakInUse = inUse;
        peakReserved = reserved;
    }
}
