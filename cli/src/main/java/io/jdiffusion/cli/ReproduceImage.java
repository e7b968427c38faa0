package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.Reproduction;
import io.jdiffusion.pipelines.image.ImageMetadata;
import io.jdiffusion.runs.ImageReproduction;
import io.jdiffusion.runs.RunStore;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * {@code reproduce <image>}: regenerates a PNG or JPEG from the record inside it. An input that moved
 * or changed is taken from the run store's copy when the image carries its run id and the copy's
 * pixels match the record; the command says which copy it used.
 */
final class ReproduceImage {
    private ReproduceImage() {}

    static int call(Path image, Path storeOption, Path output, boolean quiet, boolean force, CommandLine.Model.CommandSpec spec) {
        GenerationRecord r = Reproduction.readRecord(image);
        String runId = ImageMetadata.runId(image);
        Path dir = RunStore.defaultDir(storeOption);
        RunStore store = Files.isDirectory(dir.resolve("runs")) ? RunStore.open(dir) : null;
        ImageReproduction.Inputs in = ImageReproduction.resolve(r, runId, store);
        var err = spec.commandLine().getErr();
        for (String n : in.notes()) err.println("jdiffusion: note: " + n);
        try (io.jdiffusion.pipelines.GenerationPipeline<?> p = Reproduction.pipeline(in.rerun())) {
            if (!quiet) p.onStep(new ProgressBar(System.err));
            GenerationResult result = p.run();
            // written with the record as it was (the original input paths) and the same run id, so equal pixels give equal bytes
            GenerationRecord written = in.notes().isEmpty() ? result.record() : result.record().withInputs(r.inputs());
            List<Path> paths = Outputs.write(result.images(), written, runId, output, force);
            for (Path w : paths) spec.commandLine().getOut().println(w);
            if (paths.size() == 1 && sameBytes(image, paths.getFirst())) err.println("identical to " + image);
        }
        return 0;
    }

    private static boolean sameBytes(Path a, Path b) {
        try {
            return Files.size(a) == Files.size(b) && Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
