package io.jdiffusion.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;

/** Splits independent loop iterations over the machine's cores (the common fork/join pool plus the caller). */
final class Parallel {
    private Parallel() {}

    static final int THREADS = Math.max(1, ForkJoinPool.getCommonPoolParallelism() + 1);

    /** Below this much work (roughly multiply-adds) a loop stays on the calling thread. */
    static final long MIN_PARALLEL_WORK = 32_768;

    /** A loop body over an int index. */
    @FunctionalInterface
    interface IntBody { void accept(int i); }

    /**
     * Runs body(i) for i in [0, n); in parallel when there is more than {@link #MIN_PARALLEL_WORK}
     * total work. The threads take the next index from a shared counter until none is left
     * (self-scheduling), so items of unequal cost, or a core that other processes hold for a
     * while, leave no thread idle while work remains (a parallel stream splits the range into
     * fixed quarters up front).
     */
    static void forRange(int n, long workPerItem, IntBody body) {
        if (n <= 1 || THREADS == 1 || (long) n * workPerItem < MIN_PARALLEL_WORK) {
            for (int i = 0; i < n; i++) body.accept(i);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable drain = () -> {
            for (int i = next.getAndIncrement(); i < n; i = next.getAndIncrement()) body.accept(i);
        };
        ForkJoinTask<?>[] helpers = new ForkJoinTask<?>[Math.min(THREADS, n) - 1];
        for (int t = 0; t < helpers.length; t++) helpers[t] = ForkJoinTask.adapt(drain).fork();
        Throwable failure = null;
        try {
            drain.run();
        } catch (RuntimeException | Error e) {
            next.set(n); // the helpers stop at their next item
            failure = e;
        }
        for (ForkJoinTask<?> h : helpers) {
            try {
                h.join();
            } catch (RuntimeException | Error e) {
                if (failure == null) failure = e; else failure.addSuppressed(e);
            }
        }
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
    }
}
