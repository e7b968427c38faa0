package io.jdiffusion.runs;

import io.jdiffusion.pipelines.StepListener;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A step listener that times every denoising step (base and refiner steps numbered as one run)
 * and passes each call on to another listener, e.g. a progress bar. Attach it with
 * {@code pipeline.onStep(timings)} just before {@code run()}: the clock starts then.
 */
public final class StepTimings implements StepListener {
    private final StepListener next;
    private final List<Step> steps = new ArrayList<>();
    private long start = System.nanoTime();
    private long last = start;

    public StepTimings() { this(StepListener.NONE); }

    public StepTimings(StepListener next) { this.next = Objects.requireNonNull(next, "next listener"); }

    /** One step: its index in the whole run, the run's step count, the timestep, and milliseconds since the previous step (or the start). */
    public record Step(int index, int total, float timestep, double ms) {}

    /** What the store keeps: the whole run's milliseconds (start to the last step, or to {@link #finish}) and the steps. */
    public record Summary(double totalMs, List<Step> steps) {
        public Summary {
            steps = steps == null ? List.of() : List.copyOf(steps);
        }
    }

    /** Restarts the clock (call right before {@code run()} when the listener was attached earlier). */
    public synchronized StepTimings restart() {
        steps.clear();
        start = System.nanoTime();
        last = start;
        return this;
    }

    @Override
    public void onStep(int index, int total, float timestep, float[] latents) {
        long now = System.nanoTime();
        synchronized (this) {
            steps.add(new Step(index, total, timestep, (now - last) / 1e6));
            last = now;
        }
        next.onStep(index, total, timestep, latents);
    }

    /** The timings so far; total is measured up to now (includes decoding after the last step). */
    public synchronized Summary finish() {
        return new Summary((System.nanoTime() - start) / 1e6, List.copyOf(steps));
    }
}
