package io.jdiffusion.pipelines;

/** Thrown by a run whose cancellation was requested; raised between steps. */
public final class CancelledException extends RuntimeException {
    public CancelledException(int completedSteps) {
        super("generation cancelled after " + completedSteps + " step(s)");
    }
}
