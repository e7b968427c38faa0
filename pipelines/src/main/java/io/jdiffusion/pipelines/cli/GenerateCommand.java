package io.jdiffusion.pipelines.cli;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** What the generation commands share: options, loading, running, writing. */
abstract class GenerateCommand implements Callable<Integer> {
    @CommandLine.Mixin
    CommonOptions common;

    @CommandLine.Mixin
    RunOptions runs;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Builds the configured pipeline (models are opened lazily: nothing heavy loads here). */
    abstract SdxlPipeline<?> pipeline();

    @Override
    public Integer call() {
        CommonOptions o = common;
        CommonOptions.checkModel("--model", o.model);
        if (o.refiner != null) CommonOptions.checkModel("--refiner", o.refiner);
        Path parent = o.output.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("--output: folder " + parent + " does not exist");
        }
        try (SdxlPipeline<?> p = pipeline()) {
            if (o.refiner != null) p.refiner(o.refiner);
            o.apply(p);
            var timings = runs.listen(p, o.quiet);
            GenerationResult r = p.run();
            List<Path> written = Outputs.write(r, o.output);
            for (Path w : written) spec.commandLine().getOut().println(w);
            runs.record(r, timings, spec.commandLine().getErr());
        }
        return 0;
    }

    static Image readImage(String option, Path p) {
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(option + ": no such file " + p);
        try {
            return ImageFiles.read(p);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
