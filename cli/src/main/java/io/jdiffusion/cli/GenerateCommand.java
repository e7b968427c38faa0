package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.tensor.Backends;
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

    /** The pipeline's own guidance scale, used when --guidance is not given (shown in the help). */
    double defaultGuidance() { return io.jdiffusion.pipelines.Text2ImagePipeline.DEFAULT_GUIDANCE; }

    /** Builds the configured pipeline on an opened model (weights load lazily: nothing heavy happens here). */
    abstract SdxlPipeline<?> pipeline(SdxlModel base);

    @Override
    public Integer call() {
        CommonOptions o = common;
        FileArguments.output(o.output, o.force);
        // model-load options, checked before anything loads: the device dtype picks the backend's type
        if (o.dtype != null) System.setProperty("jdiffusion.cuda.dtype", ProfileCommand.parseDtype(o.dtype).name().toLowerCase(java.util.Locale.ROOT));
        try (SdxlModel base = open("--model", o.model, o.config);
             SdxlModel refiner = o.refiner == null ? null : open("--refiner", o.refiner, o.refinerConfig);
             SdxlPipeline<?> p = pipeline(base)) {
            if (o.vae != null) {
                CommonOptions.option("--vae", () -> base.withVae(o.vae));
                if (refiner != null) CommonOptions.option("--vae", () -> refiner.withVae(o.vae));
            }
            if (refiner != null) p.refiner(refiner);
            o.apply(p);
            var timings = runs.listen(p, o.quiet);
            GenerationResult r = p.run();
            // --quiet: nothing but errors on stderr (the files written are still listed on stdout)
            java.io.PrintWriter notes = o.quiet ? new java.io.PrintWriter(java.io.Writer.nullWriter()) : spec.commandLine().getErr();
            String runId = runs.record(r, timings, notes); // first, so the images carry the run id
            List<Path> written = Outputs.write(r.images(), r.record(), runId, o.output, o.force);
            for (Path w : written) spec.commandLine().getOut().println(w);
            // asked for by --vram ("the peak device memory is printed"), so printed even with --quiet
            if (p.deviceBudget() != null) spec.commandLine().getErr().println(p.deviceBudget().summary());
        }
        return 0;
    }

    /** Opens a model (layout and configs only), naming the option when it is not a usable model. */
    static SdxlModel open(String option, String model, Path configFolder) {
        if (configFolder != null && !Files.isDirectory(configFolder)) {
            throw new IllegalArgumentException(option + " config folder " + configFolder + " does not exist");
        }
        try {
            return SdxlModel.load(model, configFolder, Backends.get());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    static Image readImage(String option, Path p) {
        FileArguments.image(option, p);
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(option + ": no such file " + p);
        try {
            return ImageFiles.read(p);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }
}
