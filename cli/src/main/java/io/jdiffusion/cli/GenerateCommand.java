package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationPipeline;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.ModelFamily;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.Writer;
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

    /** The same for an SD 1/2 model. */
    abstract SdPipeline sdPipeline(SdModel model);

    @Override
    public Integer call() {
        CommonOptions o = common;
        FileArguments.output(o.output, o.force);
        // model-load options, checked before anything loads: the device dtype picks the backend's type
        if (o.dtype != null) System.setProperty("jdiffusion.cuda.dtype", ProfileCommand.parseDtype(o.dtype).name().toLowerCase(java.util.Locale.ROOT));
        if (family("--model", o.model) == ModelFamily.SD) {
            o.refuseForSd(o.model);
            try (SdModel model = openSd(o.model, o.config, o.predictionType); SdPipeline p = sdPipeline(model)) {
                o.applyShared(p);
                generate(p);
            }
            return 0;
        }
        if (o.predictionType != null) {
            throw new IllegalArgumentException("--prediction-type applies to single-file SD 2 checkpoints; " + o.model + " is an SDXL model"
                    + " (its scheduler config says the prediction type)");
        }
        try (SdxlModel base = open("--model", o.model, o.config);
             SdxlModel refiner = o.refiner == null ? null : open("--refiner", o.refiner, o.refinerConfig);
             SdxlPipeline<?> p = pipeline(base)) {
            if (o.vae != null) {
                CommonOptions.option("--vae", () -> base.withVae(o.vae));
                if (refiner != null) CommonOptions.option("--vae", () -> refiner.withVae(o.vae));
            }
            if (refiner != null) p.refiner(refiner);
            o.apply(p);
            generate(p);
        }
        return 0;
    }

    /** Runs the configured pipeline, records the run and writes the images. */
    private void generate(GenerationPipeline<?> p) {
        CommonOptions o = common;
        var timings = runs.listen(p, o.quiet);
        GenerationResult r = p.run();
        // --quiet: nothing but errors on stderr (the files written are still listed on stdout)
        PrintWriter notes = o.quiet ? new PrintWriter(Writer.nullWriter()) : spec.commandLine().getErr();
        String runId = runs.record(r, timings, notes); // first, so the images carry the run id
        List<Path> written = Outputs.write(r.images(), r.record(), runId, o.output, o.force);
        for (Path w : written) spec.commandLine().getOut().println(w);
        // what --vram asks for ("the peak device memory is printed"); --quiet silences it with the other notes
        if (p.deviceBudget() != null) notes.println(p.deviceBudget().summary());
    }

    /** The family of a model folder or cached id (null: a single file, or not found: opening it says so), naming the option when it is neither. */
    static ModelFamily family(String option, String model) {
        try {
            return ModelFamily.ofModel(model);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    /** Opens an SD 1/2 model (configs only; for a single file, {@code configFolder} and {@code predictionType} may be set), naming --model when it is not usable. */
    static SdModel openSd(String model, Path configFolder, String predictionType) {
        if (configFolder != null && !Files.isDirectory(configFolder)) {
            throw new IllegalArgumentException("--config folder " + configFolder + " does not exist");
        }
        try {
            return SdModel.load(model, configFolder, predictionType, Backends.get());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--model: " + e.getMessage(), e);
        }
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
