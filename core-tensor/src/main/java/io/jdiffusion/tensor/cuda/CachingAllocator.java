package io.jdiffusion.tensor.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
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

    private final RawMemory raw;
    private final long budget;
    private final Map<Long, Long> live = new HashMap<>();
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private long inUse, reserved, peakInUse, peakReserved, allocations, cacheHits, driverAllocations;

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
        long ptr;
        if (list != null && !list.isEmpty()) {
            ptr = list.pop();
            cacheHits++;
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
        free.computeIfAbsent(cls, k -> new ArrayDeque<>()).push(ptr);
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
