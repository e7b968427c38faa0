package io.jdiffusion.tensor.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/** Splits independent loop iterations over the machine's cores. */
final class Parallel {
    private Parallel() {}

    static final int THREADS = Math.max(1, ForkJoinPool.getCommonPoolParallelism() + 1);

    /** Runs body(i) for i in [0, n); in parallel when there is more than {@code minWork} total work. */
    static void forRange(int n, long workPerItem, IntConsumer body) {
        if (n <= 1 || THREADS == 1 || (long) n * workPerItem < 32_768) {
            for (int i = 0; i < n; i++) body.accept(i);
        } else {
            IntStream.range(0, n).parallel().forEach(body);
        }
    }
}
