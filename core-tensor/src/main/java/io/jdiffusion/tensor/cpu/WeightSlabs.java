package io.jdiffusion.tensor.cpu;

import java.lang.ref.SoftReference;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Large heap arrays shared by the packed weights the {@link WeightCache} converts. G1 stores an
 * array of half a region or more ("humongous") alone in whole regions, the rest of its last
 * region wasted: one array per weight, the full-size SDXL UNet's 9.6 GiB of F32 weights took about
 * 12 GiB of an 18 GB heap (8 MiB regions; 2.4 GiB lost, which the budget did not count). Weights
 * packed one after another into slabs of up to 256 MiB lose only each slab's tail.
 *
 * <p>A slab lives as long as one of its weights does (they hold it; the list here holds it
 * weakly), so unloading every component that used it gives it back.
 */
final class WeightSlabs {
    private WeightSlabs() {}

    /** Floats per slab at most (256 MiB). */
    static final int SLAB_FLOATS = 1 << 26;

    /** Weights below this many floats (512 KiB, half of G1's smallest region) are never humongous: they get their own array. */
    static final int MIN_FLOATS = 1 << 17;

    /** A place for one weight: {@code data[base, base + n)}. */
    record Place(float[] data, int base) {}

    private static final class Slab {
        final WeakReference<float[]> data;
        final int length;
        int used;
        /**
         * A slab made ahead of need holds itself until its first weight does; softly, so one that
         * no load comes to use is given back before the heap runs short.
         */
        SoftReference<float[]> unused;

        Slab(float[] d) {
            data = new WeakReference<>(d);
            length = d.length;
        }
    }

    private static final List<Slab> OPEN = new ArrayList<>();

    /** Places no more weights in the slabs made so far: weights converted next start slabs of their own, so a dropped component's slabs are not kept alive by them. */
    static synchronized void closeAll() { OPEN.clear(); }

    /** Slabs weights may still be placed in (for tests). */
    static synchronized int openSlabs() { return OPEN.size(); }

    /**
     * Room for {@code n} zero floats: in an open slab with space, else a new slab of up to
     * {@code slabFloats} (the budget still free, so a small budget never allocates a large slab),
     * or an array of its own when small, or when no slab of useful size fits.
     */
    static synchronized Place place(int n, long slabFloats) {
        if (n < MIN_FLOATS) return new Place(new float[n], 0);
        for (Iterator<Slab> it = OPEN.iterator(); it.hasNext(); ) {
            Slab s = it.next();
            float[] d = s.data.get();
            if (d == null) {
                it.remove();
            } else if (s.length - s.used >= n) {
                s.unused = null;
                int base = s.used;
                s.used += n;
                return new Place(d, base);
            }
        }
        int length = (int) Math.min(SLAB_FLOATS, slabFloats);
        if (length < 2L * n) return new Place(new float[n], 0);
        float[] d;
        if (slabFloats - length >= SLAB_FLOATS && Parallel.THREADS > 1) {
            // the next slab too, on another core at the same time: the JVM zeroes a new array on the
            // thread that allocates it, and the kernel's clearing of its fresh pages is most of a
            // model load (on the VMs measured, 85 % of a 25 s UNet load ran on one core in clear_page)
            float[][] two = new float[2][];
            Parallel.forRange(2, Parallel.MIN_PARALLEL_WORK, i -> two[i] = new float[i == 0 ? length : SLAB_FLOATS]);
            d = two[0];
            Slab next = new Slab(two[1]);
            next.unused = new SoftReference<>(two[1]);
            OPEN.add(next);
        } else {
            d = new float[length];
        }
        Slab s = new Slab(d);
        s.used = n;
        OPEN.add(0, s);
        return new Place(d, 0);
    }
}
