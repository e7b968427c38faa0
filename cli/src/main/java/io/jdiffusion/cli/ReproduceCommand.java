package io.jdiffusion.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "reproduce", mixinStandardHelpOptions = true,
        description = {"Regenerates a PNG or JPEG written by jdiffusion from the generation record inside it:",
                "same models, inputs (checked against their recorded pixel hashes), seed and settings give the same bytes."})
final class ReproduceCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PNG|RUN", description = "A PNG or JPEG written by jdiffusion, or a run id (or unique prefix) in the run store.")
    Path png;

    @Option(names = "--runs", paramLabel = "DIR", description = "Run store for run ids, and for the copies of inputs that moved (default: $JDIFFUSION_RUNS, else ./jdiffusion-runs).")
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
        return ReproduceImage.call(png, store, output, quiet, force, spec);
    }
}
