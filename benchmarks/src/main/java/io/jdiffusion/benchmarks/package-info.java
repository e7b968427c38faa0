/**
 * JMH benchmarks. Build with {@code ./mvnw -q -pl benchmarks -am package -DskipTests}, run with
 * {@code scripts/bench <BenchmarkClassRegex>}; results go to docs/benchmarks.md as ratios against a
 * baseline measured in the same run.
 */
package io.jdiffusion.benchmarks;
