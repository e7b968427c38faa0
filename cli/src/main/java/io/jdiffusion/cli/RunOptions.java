package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.StepListener;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.runs.StepTimings;
import picocli.CommandLine.Option;

import java.io.PrintWriter;

/** Experiment-tracking options of the generation commands: every run is recorded in the run store unless --no-record. */
final class RunOptions extends StoreOptions {
    @Option(names = "--no-record", description = "Do not record this run in the run store.")
    boolean noRecord;

    /** Times every step (passing each on to the progress bar unless quiet); attach right before run(). */
    StepTimings listen(io.jdiffusion.pipelines.GenerationPipeline<?> p, boolean quiet) {
        StepTimings t = new StepTimings(quiet ? StepListener.NONE : new ProgressBar(System.err));
        p.onStep(t);
        return t;
    }

    /**
     * Records the run (inputs are the files the generation record names) and says where on {@code err};
     * returns its id (which the written images then carry), or null with --no-record.
     */
    String record(GenerationResult r, StepTimings timings, PrintWriter err) {
        if (noRecord) return null;
        RunStore s = open();
        RunRecord run = s.record(experiment, tags, r, timings.finish(), null);
        err.println("recorded run " + run.id() + " in " + s.dir());
        return run.id();
    }
}
