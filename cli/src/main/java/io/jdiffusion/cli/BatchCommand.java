package io.jdiffusion.cli;

import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.runs.Batch;
import io.jdiffusion.runs.BatchManifest;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;

@Command(name = "batch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs a dataset and records every cell in the run store: each row of a manifest (image, mask or",
                "outpaint extents, prompts, seeds) crossed with a grid of settings (refiner fractions x mask dilations",
                "x guidance x schedulers), on models loaded once. A failed row is reported and the rest go on (exit",
                "status 1 at the end); --resume skips cells already in the store (same settings and input hashes).",
                "",
                "Manifest: a .csv with a header row, or .jsonl with one object per line. Columns: image, mask, prompt,",
                "negative_prompt, seed (or seeds: 1;2), task (inpaint or outpaint), extend (outpaint: L,T,R,B), overlap.",
                "Paths are relative to the manifest's folder."},
        footer = {"", "Example: 3 photos x (inpaint, outpaint) x refiner on/off x dilation on/off:",
                "  manifest.csv:",
                "    image,mask,prompt,seed,task,extend",
                "    cat.png,cat-mask.png,a red vase,-737,inpaint,",
                "    cat.png,,a garden,-737,outpaint,\"0,0,256,0\"",
                "    ...",
                "  jdiffusion batch manifest.csv --model sdxl-base --refiner sdxl-refiner \\",
                "      --refiner-fractions off,0.8 --dilate off,15x2 --steps 30 \\",
                "      --experiment tutorial"})
final class BatchCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "MANIFEST", description = "The rows: a .csv (header row) or .jsonl file.")
    Path manifest;

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "Base model (folder, single file or cached Hugging Face id).")
    String model;

    @Option(names = "--refiner", paramLabel = "MODEL", description = "Refiner model for the cells whose refiner fraction is not 'off'.")
    String refiner;

    @CommandLine.Mixin
    GridOptions grid;

    @Option(names = "--resume", description = "Skip the cells already recorded in the store (same settings and input file hashes).")
    boolean resume;

    @CommandLine.Mixin
    StoreOptions runs;

    @Option(names = "--quiet", description = "Print nothing but errors (no progress, no log lines).")
    boolean quiet;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        // the manifest and the grid are checked before any model opens
        List<BatchManifest.Row> rows = BatchManifest.read(manifest);
        RunStore store = runs.open();
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        try (SdxlModel base = GenerateCommand.open("--model", model, null);
             SdxlModel ref = refiner == null ? null : GenerateCommand.open("--refiner", refiner, null)) {
            Batch batch = new Batch(rows, base).refinerModel(ref).grid(grid::apply).resume(resume).onReport(err::println);
            if (!quiet) {
                CellProgress progress = new CellProgress(System.err);
                batch.onCell(progress).onStep(progress);
            }
            int size;
            try {
                size = batch.size();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage().startsWith("refiner fractions") ? "--refiner-fractions: " + e.getMessage() + " (--refiner)"
                        : e.getMessage(), e);
            }
            if (!quiet) err.println("batch: " + rows.size() + " rows, " + size + " cells");
            Batch.Result r = batch.run(store, runs.experiment, runs.tags);
            for (RunRecord run : r.runs()) out.println(run.id() + "  " + SweepCommand.axes(run));
            if (!quiet || !r.ok()) {
                err.println("batch: " + r.runs().size() + " ran, " + r.skipped() + " skipped (already in the store), "
                        + (r.cells() - r.runs().size() - r.skipped()) + " failed, of " + r.cells() + " cells");
            }
            if (!r.ok()) {
                TreeSet<Integer> failed = new TreeSet<>();
                r.failures().forEach(f -> failed.add(f.row()));
                err.println("jdiffusion: failed rows: " + failed);
                return 1;
            }
        }
        return 0;
    }
}
