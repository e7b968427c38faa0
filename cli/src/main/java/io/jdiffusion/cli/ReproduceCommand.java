package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.Reproduction;
import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = {"Regenerates a PNG written by jdiffusion from the generation record inside it:",
                "same models, inputs (checked against their recorded pixel hashes), seed and settings give the same bytes."})
final class ReproduceCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PNG|RUN", description = "A PNG written by jdiffusion, or a run id (or unique prefix) in the run store.")
    Path png;

    @Option(names = "--runs", paramLabel = "DIR", description = "Run store for run ids (default: $JDIFFUSION_RUNS, else ./jdiffusion-runs).")
    Path store;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PNG", description = "Where to write the regenerated image.")
    Path output;

    @Option(names = "--quiet", description = "No progress bar.")
    boolean quiet;

    @Option(names = "--force", description = "Write through an --output that is a symbolic link, device or FIFO instead of refusing it (a regular file is always replaced atomically).")
    boolean force;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        FileArguments.output(output, force);
        if (Files.isDirectory(png)) throw new IllegalArgumentException("PNG|RUN: " + png + " is a folder, not a PNG file or run id");
        if (!Files.isRegularFile(png)) return ReproduceRun.call(png.toString(), store, output, quiet, force, spec);
        GenerationRecord r = Reproduction.readRecord(png);
        try (SdxlPipeline<?> p = Reproduction.pipeline(r)) {
            if (!quiet) p.onStep(new ProgressBar(System.err));
            GenerationResult result = p.run();
            for (Path w : Outputs.write(result, output, force)) spec.commandLine().getOut().println(w);
        }
        return 0;
    }
}
