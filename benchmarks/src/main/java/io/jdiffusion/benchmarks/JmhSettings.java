package io.jdiffusion.benchmarks;

import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The JMH settings the model benchmarks share (JMH reads them from the superclass): average time
 * in ms per call, one fork with native access and the Vector API module (the CPU backend's fast
 * kernels), 2 warm-up and 3 measured iterations of 2 s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public abstract class JmhSettings {
    /** Plus the model size and the backend, for the benchmarks that run the fixture or the full-size models on any backend. */
    public abstract static class Scaled extends JmhSettings {
        /** tiny: the fixture models; full: the official configs with random weights. */
        @Param("tiny")
        public String scale;
        /** cpu, cuda-f16, cuda-bf16 or cuda-f32. */
        @Param("cpu")
        public String backend;
    }
}
