package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator's bookkeeping on fake device pointers: no GPU needed. */
class CachingAllocatorTest {
    /** Hands out increasing fake addresses and records driver traffic; can be told to run out of memory. */
    static final class FakeDevice implements CachingAllocator.RawMemory {
        final Map<Long, Long> blocks = new HashMap<>();
        final List<Long> freed = new ArrayList<>();
        long next = 0x7f0000000000L, capacity = Long.MAX_VALUE, used;
        int syncs;

        @Override public long allocate(long bytes) {
            if (used + bytes > capacity) return 0;
            long p = next;
            next += bytes + 4096;
            blocks.put(p, bytes);
            used += bytes;
            return p;
        }

        @Override public void free(long pointer) {
            Long b = blocks.remove(pointer);
            if (b == null) throw new AssertionError("driver free of unknown pointer " + pointer);
            used -= b;
            freed.add(pointer);
        }

        @Override public void synchronize() { syncs++; }
    }

    @Test
    void sizeClassesRoundUpByAtMostAQuarter() {
        assertEquals(512, CachingAllocator.sizeClass(0));
        assertEquals(512, CachingAllocator.sizeClass(1));
        assertEquals(512, CachingAllocator.sizeClass(512));
        // 513: power 512, step max(512, 128) = 512 -> 1024
        assertEquals(1024, CachingAllocator.sizeClass(513));
        // 5000: power 4096, step 1024 -> 5120
        assertEquals(5120, CachingAllocator.sizeClass(5000));
        assertEquals(4096, CachingAllocator.sizeClass(4096));
        // 1 MiB + 1: step 256 KiB -> 1.25 MiB
        assertEquals((1L << 20) + (1L << 18), CachingAllocator.sizeClass((1L << 20) + 1));
        for (long b = 1; b < 10_000_000; b = b * 3 + 7) {
            long c = CachingAllocator.sizeClass(b);
            assertTrue(c >= b, "class " + c + " below request " + b);
            assertTrue(c <= Math.max(512, b + b / 4 + 512), "class " + c + " wastes more than a quarter of " + b);
        }
        assertThrows(IllegalArgumentException.class, () -> CachingAllocator.sizeClass(-1));
    }

    @Test
    void freedBlocksAreReusedForTheSameClass() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 0);
        long p1 = a.allocate(5000);
        a.free(p1);
        long p2 = a.allocate(4500);        // same 5120-byte class
        assertEquals(p1, p2, "a block of the same class comes from the cache");
        long p3 = a.allocate(9000);        // another class: a new driver block
        assertNotEquals(p1, p3);
        CachingAllocator.Stats s = a.stats();
        assertEquals(3, s.allocations());
        assertEquals(1, s.cacheHits());
        assertEquals(2, s.driverAllocations());
        assertEquals(5120 + 10240, s.inUse());
        assertEquals(5120 + 10240, s.reserved());
        assertTrue(dev.freed.isEmpty(), "nothing went back to the driver");
    }

    @Test
    void statisticsTrackInUseReservedAndPeak() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 0);
        long x = a.allocate(1000), y = a.allocate(3000), z = a.allocate(100);
        // classes: 1024, 3072, 512
        assertEquals(1024 + 3072 + 512, a.stats().inUse());
        a.free(y);
        CachingAllocator.Stats s = a.stats();
        assertEquals(1024 + 512, s.inUse());
        assertEquals(1024 + 3072 + 512, s.reserved());
        assertEquals(3072, s.cached());
        assertEquals(1024 + 3072 + 512, s.peakInUse());
        a.free(x);
        a.free(z);
        assertEquals(0, a.stats().inUse());
        a.emptyCache();
        assertEquals(0, a.stats().reserved());
        assertEquals(3, dev.freed.size());
        assertTrue(dev.syncs >= 1, "the stream is synchronised before blocks go back to the driver");
        assertEquals(1024 + 3072 + 512, a.stats().peakReserved());
        a.resetPeaks();
        assertEquals(0, a.stats().peakInUse());
    }

    @Test
    void budgetFirstEmptiesTheCacheThenFailsWithTheNumbers() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 10_000);
        long p = a.allocate(4096);
        a.free(p);                          // 4096 cached
        long q = a.allocate(8192);          // 4096 + 8192 > budget: cache emptied, then fits
        assertEquals(1, dev.freed.size());
        assertEquals(8192, a.stats().reserved());
        CudaException e = assertThrows(CudaException.class, () -> a.allocate(4096));
        String m = e.getMessage();
        assertTrue(m.contains("budget"), m);
        assertTrue(m.contains("requested 4096 bytes"), m);
        assertTrue(m.contains("8192 bytes in use"), m);
        assertTrue(m.contains("budget 10000 bytes"), m);
        a.free(q);
        assertEquals(8192, a.stats().reserved(), "a failed request leaves the books as they were");
        assertEquals(0, a.stats().inUse());
    }

    @Test
    void outOfDeviceMemoryRetriesAfterEmptyingTheCache() {
        FakeDevice dev = new FakeDevice();
        dev.capacity = 12_288;
        CachingAllocator a = new CachingAllocator(dev, 0);
        long p = a.allocate(8192);
        a.free(p);
        long q = a.allocate(6144);          // driver full with the cached 8192: cache released, retried
        assertTrue(q != 0);
        assertEquals(List.of(p), dev.freed);
        long r = a.allocate(6144);
        CudaException e = assertThrows(CudaException.class, () -> a.allocate(6144));
        assertTrue(e.getMessage().contains("out of memory"), e.getMessage());
        a.free(q);
        a.free(r);
    }

    @Test
    void doubleFreeIsAnError() {
        CachingAllocator a = new CachingAllocator(new FakeDevice(), 0);
        long p = a.allocate(10);
        assertTrue(a.isLive(p));
        a.free(p);
        assertFalse(a.isLive(p));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> a.free(p));
        assertTrue(e.getMessage().contains("double free"), e.getMessage());
        assertFalse(a.release(p), "release of a block that is not live is a no-op");
        long q = a.allocate(10);
        assertTrue(a.release(q));
        assertEquals(0, a.stats().inUse());
    }

    @Test
    void releaseAllReturnsLiveAndCachedBlocks() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 0);
        a.allocate(100);
        long p = a.allocate(70_000);
        a.free(p);
        a.releaseAll();
        assertTrue(dev.blocks.isEmpty(), "every driver block was freed: " + dev.blocks);
        assertEquals(0, a.stats().reserved());
        assertEquals(0, a.stats().inUse());
    }

    // ---- CUDA graph pools ----------------------------------------------------------------------

    @Test
    void blocksOfACaptureStayWithItsGraphUntilThePoolIsReleased() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 0);
        long cached = a.allocate(5000);
        a.free(cached);                                   // a shared cached block of the 5120 class
        CachingAllocator.Pool pool = a.beginCapture(null);
        assertTrue(a.isCapturing());
        long t1 = a.allocate(5000);
        assertEquals(cached, t1, "a capture may take a shared cached block: it becomes the graph's");
        a.free(t1);
        long t2 = a.allocate(4500);
        assertEquals(t1, t2, "within a capture, blocks are reused as the eager pass reuses them");
        long out = a.allocate(9000);                      // the captured pass's output, kept
        a.free(t2);
        a.endCapture();
        assertEquals(5120 + 10240, pool.bytes());
        assertEquals(5120 + 10240, a.graphPoolBytes());
        long eager = a.allocate(5000);
        assertNotEquals(t1, eager, "between replays an eager allocation never gets a block the graph writes");
        a.free(eager);
        a.emptyCache();
        assertEquals(List.of(eager), dev.freed, "emptyCache leaves the graph's blocks reserved");
        a.free(out);                                      // the output freed while the graph lives: still the graph's
        long eager2 = a.allocate(9000);
        assertNotEquals(out, eager2);
        a.free(eager2);
        a.releasePool(pool);
        assertEquals(0, a.graphPoolBytes());
        assertEquals(t1, a.allocate(5000), "once the graph is gone its blocks serve everyone");
        assertEquals(java.util.Set.of(out, eager2), java.util.Set.of(a.allocate(9000), a.allocate(9000)));
        assertEquals(3, dev.blocks.size(), "no new driver block: t1, out and eager2 served");
    }

    @Test
    void aBlockFreedDuringACaptureJoinsTheGraphAndLiveOnesOutliveIt() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 0);
        long before = a.allocate(2000);                   // made before the capture, read and freed inside it
        CachingAllocator.Pool pool = a.beginCapture(null);
        a.free(before);
        long kept = a.allocate(700);
        a.endCapture();
        assertNotEquals(before, a.allocate(2000), "the captured work may still read it at every replay");
        a.releasePool(pool);                              // `kept` is still live: an ordinary block from now on
        assertEquals(0, a.graphPoolBytes());
        a.free(kept);
        assertEquals(kept, a.allocate(700), "freed to the shared lists once the pool is gone");
        assertEquals(before, a.allocate(2000));
    }

    @Test
    void aCaptureNeverSynchronisesAndFailsOverBudgetInstead() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 10_000);
        a.free(a.allocate(4096));                         // a cached block, which a capture may not give back to the driver
        CachingAllocator.Pool pool = a.beginCapture(null);
        a.emptyCache();
        long q = a.allocate(4096);                        // the cached block, adopted
        CudaException e = assertThrows(CudaException.class, () -> a.allocate(8192));
        assertTrue(e.getMessage().contains("during a CUDA graph capture"), e.getMessage());
        assertEquals(0, dev.syncs, "no stream synchronisation while a stream captures");
        a.free(q);
        a.endCapture();
        a.releasePool(pool);
        a.releaseAll();
        assertTrue(dev.blocks.isEmpty(), "every block went back to the driver");
        assertThrows(IllegalStateException.class, () -> a.beginCapture(pool), "a released pool cannot capture again");
    }

    @Test
    void releaseAllFreesTheGraphPoolsToo() {
        FakeDevice dev = new FakeDevice();
        CachingAllocator a = new CachingAllocator(dev, 0);
        a.beginCapture(null);
        long x = a.allocate(3000);
        a.allocate(600);
        a.free(x);
        a.endCapture();
        a.releaseAll();
        assertTrue(dev.blocks.isEmpty(), "pool blocks, free and live, went back to the driver");
        assertEquals(0, a.stats().reserved());
        assertEquals(0, a.graphPoolBytes());
    }
}
