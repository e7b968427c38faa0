package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.StepListener;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.runs.StepTimings;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;

/** Experiment-tracking options of the generation commands: every run is recorded in the run store unless --no-record. */
final class RunOptions {
    @Option(names = "--experiment", paramLabel = "NAME", description = "Experiment the run is recorded under (default: 'default').")
    String experiment;

    @Option(names = "--tag", paramLabel = "TAG", description = "Tag for the recorded run (repeatable).")
    List<String> tags;

    @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder (default: $JDIFFUSION_RUNS, else ./jdiffusion-runs).")
    Path store;

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
        RunStore s = RunStore.open(RunStore.defaultDir(store));
        RunRecord run = s.record(experiment, tags, r, timings.finish(), null);
        err.println("recorded run " + run.id() + " in " + s.dir());
        return run.id();
    }
}
