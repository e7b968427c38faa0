package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.PngWriter;
import io.jdiffusion.runs.RunReproduction;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.runs.RunStoreException;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@code reproduce RUN}: regenerates a run of the store and checks the bytes against its stored outputs. */
final class ReproduceRun {
    private ReproduceRun() {}

    /** Exit status 0 when every output is byte-identical to the stored one, 1 when one differs. */
    static int call(String id, Path storeOption, Path output, boolean quiet, boolean force, CommandLine.Model.CommandSpec spec) {
        Path dir = RunStore.defaultDir(storeOption);
        if (!Files.isDirectory(dir.resolve("runs"))) {
            throw new IllegalArgumentException("PNG|RUN: no such file " + id + ", and no run store at " + dir.toAbsolutePath()
                    + " to look it up as a run id (use --runs DIR)");
        }
        Path parent = output.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) throw new IllegalArgumentException("--output: folder " + parent + " does not exist");
        RunStore store = RunStore.open(dir);
        RunReproduction.Result r;
        try {
            r = RunReproduction.reproduce(store, id, quiet ? null : new ProgressBar(System.err));
        } catch (RunStoreException e) {
            throw new IllegalArgumentException("PNG|RUN: no such file " + id + ", and " + e.getMessage(), e);
        }
        List<byte[]> pngs = r.pngs();
        for (int i = 0; i < pngs.size(); i++) {
            Path p = pngs.size() == 1 ? output : Outputs.numbered(output, i + 1);
            PngWriter.writeAtomically(p, pngs.get(i), force);
            spec.commandLine().getOut().println(p);
        }
        var err = spec.commandLine().getErr();
        for (String n : r.notes()) err.println("jdiffusion: note: " + n);
        if (r.allIdentical()) {
            err.println("identical to the stored output" + (pngs.size() > 1 ? "s" : "") + " of run " + r.run().id());
            return 0;
        }
        err.println("jdiffusion: the regenerated image differs from the stored output of run " + r.run().id()
                + " (outputs identical: " + r.identical() + ")");
        return 1;
    }
}
