package io.jdiffusion.cli;

import io.jdiffusion.runs.RunStore;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** Where and under what runs are recorded: the run store, the experiment and the tags (generation commands and sweep). */
class StoreOptions {
    @Option(names = "--experiment", paramLabel = "NAME", description = "Experiment the runs are recorded under (default: 'default').")
    String experiment;

    @Option(names = "--tag", paramLabel = "TAG", description = "Tag for the recorded runs (repeatable).")
    List<String> tags;

    @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder (default: $JDIFFUSION_RUNS, else ./jdiffusion-runs).")
    Path store;

    /** The run store these options name (created when missing). */
    RunStore open() { return RunStore.open(RunStore.defaultDir(store)); }
}
