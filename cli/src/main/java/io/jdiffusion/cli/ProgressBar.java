package io.jdiffusion.cli;

import io.jdiffusion.pipelines.StepListener;

import java.io.PrintStream;

/**
 * Progress on stderr: steps done, timestep, and the seconds the last step took (the current rate, not
 * an average that includes model loading; the first step's time, which includes loading and prompt
 * encoding, is marked so). On a terminal one line redrawn with carriage returns; when
 * stderr is a file or pipe (logs, CI) one plain line per step, with no carriage return.
 */
final class ProgressBar implements StepListener {
    private final PrintStream out;
    private final boolean terminal;
    private long last = System.nanoTime();
    private String prefix = "";

    ProgressBar(PrintStream out) { this(out, stderrIsTerminal()); }

    ProgressBar(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** Text put before each line, e.g. "cell 3/24  " in sweeps and batches; the step clock restarts with it. */
    void prefix(String p) {
        this.prefix = p;
        this.last = System.nanoTime();
    }

    /** Whether this process talks to a terminal (Console.isTerminal: false when stdin/stdout are redirected). */
    static boolean stderrIsTerminal() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    @Override
    public void onStep(int index, int total, float timestep, float[] latents) {
        int done = index + 1;
        long now = System.nanoTime();
        double secs = (now - last) / 1e9;
        last = now;
        String rate = String.format(java.util.Locale.ROOT, index == 0 ? "%.2f s with loading" : "%.2f s/step", secs);
        if (!terminal) {
            out.printf("%sstep %d/%d  t=%.0f  %s%n", prefix, done, total, timestep, rate);
            out.flush();
            return;
        }
        int width = 30, filled = total == 0 ? width : Math.min(width, done * width / total);
        // padded, so a shorter rate leaves no characters of the longer one before it on the redrawn line
        out.printf("\r%s[%s%s] %d/%d  t=%4.0f  %-20s", prefix, "#".repeat(filled), " ".repeat(width - filled), done, total, timestep, rate);
        if (done >= total) out.println();
        out.flush();
    }
}
