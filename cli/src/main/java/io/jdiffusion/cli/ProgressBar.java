package io.jdiffusion.cli;

import io.jdiffusion.pipelines.StepListener;

import java.io.PrintStream;

/** A one-line progress bar on stderr: steps done, timestep, seconds per step. */
final class ProgressBar implements StepListener {
    private final PrintStream out;
    private final long start = System.nanoTime();

    ProgressBar(PrintStream out) { this.out = out; }

    @Override
    public void onStep(int index, int total, float timestep, float[] latents) {
        int done = index + 1;
        int width = 30, filled = total == 0 ? width : Math.min(width, done * width / total);
        double secs = (System.nanoTime() - start) / 1e9;
        out.printf("\r[%s%s] %d/%d  t=%4.0f  %.2f s/step", "#".repeat(filled), " ".repeat(width - filled), done, total,
                timestep, secs / done);
        if (done >= total) out.println();
        out.flush();
    }
}
