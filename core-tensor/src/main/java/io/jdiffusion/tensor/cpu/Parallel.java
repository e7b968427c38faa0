package io.jdiffusion.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/** Splits independent loop iterations over the machine's cores (the common fork/join pool plus the caller). */
final class Parallel {
    private Parallel() {}

    static final int THREADS = Math.max(1, ForkJoinPool.getCommonPoolParallelism() + 1);

    /** Below this much work (roughly multiply-adds) a loop stays on the calling thread. */
    static final long MIN_PARALLEL_WORK = 32_768;

    /** A loop body over an int index. */
    @FunctionalInterface
    interface IntBody { void accept(int i); }

    /** Runs body(i) for i in [0, n); in parallel when there is more than {@link #MIN_PARALLEL_WORK} total work. */
    static void forRange(int n, long workPerItem, IntBody body) {
        if (n <= 1 || THREADS == 1 || (long) n * workPerItem < MIN_PARALLEL_WORK) {
            for (int i = 0; i < n; i++) body.accept(i);
        } else {
            IntStream.range(0, n).parallel().forEach(body::accept);
        }
    }
}
