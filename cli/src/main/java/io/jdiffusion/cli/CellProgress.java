package io.jdiffusion.cli;

import io.jdiffusion.pipelines.StepListener;
import io.jdiffusion.runs.Sweep;

import java.io.PrintStream;

/**
 * Progress of a sweep or batch on stderr: a line when each cell starts ("cell k/N  row 2 (cat.png, inpaint)
 * seed=1 …"), the step progress prefixed with "cell k/N", and when the cell ends the seconds it took and
 * its rate in cells per minute (of this cell alone, so loading shows only in the first).
 */
final class CellProgress implements Sweep.CellListener, StepListener {
    private final PrintStream out;
    private final ProgressBar steps;

    CellProgress(PrintStream out) { this(out, ProgressBar.stderrIsTerminal()); }

    CellProgress(PrintStream out, boolean terminal) {
        this.out = out;
        this.steps = new ProgressBar(out, terminal);
    }

    @Override
    public void started(int k, int n, String label) {
        out.println("cell " + k + "/" + n + "  " + label);
        out.flush();
        steps.prefix("cell " + k + "/" + n + "  ");
    }

    @Override
    public void finished(int k, int n, String label, double seconds) {
        out.printf("cell %d/%d done in %.2f s (%.1f cells/min)%n", k, n, seconds, seconds > 0 ? 60 / seconds : 0.0);
        out.flush();
    }

    @Override
    public void onStep(int index, int total, float timestep, float[] latents) { steps.onStep(index, total, timestep, latents); }
}
