package io.jdiffusion.cli;

import io.jdiffusion.pipelines.ModelFamily;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.runs.CompareReport;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.runs.Sweep;
import io.jdiffusion.tensor.Backends;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "sweep", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs a grid of settings and records every cell in the run store (models load once):",
                "seeds x refiner fractions (or off) x mask dilations (or off) x guidance scales x schedulers.",
                "With --image and --mask it inpaints, with --image only img2img, else text-to-image."},
        footer = {"", "Example (2 seeds x refiner on/off x dilation on/off = 8 runs):",
                "  jdiffusion sweep --model sdxl-base --refiner sdxl-refiner \\",
                "      --image photo.png --mask mask.png -p 'a red vase' --steps 30 \\",
                "      --seeds 1,2 --refiner-fractions off,0.8 --dilate off,15x2 \\",
                "      --experiment vase --compare vase.html"})
final class SweepCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = "Base model (folder, single file or cached Hugging Face id): SDXL, or SD 1/2 (without the refiner axis).")
    String model;

    @Option(names = "--refiner", paramLabel = "MODEL", description = "Refiner model for the cells whose refiner fraction is not 'off'.")
    String refiner;

    @Option(names = {"-p", "--prompt"}, required = true, description = "What to generate.")
    String prompt;

    @Option(names = {"-n", "--negative-prompt"}, description = "What to steer away from.")
    String negativePrompt;

    @Option(names = "--image", description = "Input image (img2img, or inpainting with --mask).")
    Path image;

    @Option(names = "--mask", description = "Inpainting mask (white is repainted).")
    Path mask;

    @Option(names = "--seeds", split = ",", defaultValue = "0", paramLabel = "S", description = "Seeds axis, comma-separated (default: ${DEFAULT-VALUE}).")
    List<Long> seeds;

    @CommandLine.Mixin
    GridOptions grid; // --steps, --strength, --refiner-fractions, --dilate, -g, --schedulers (shared with batch)

    @CommandLine.Mixin
    StoreOptions store;

    @Option(names = "--compare", paramLabel = "HTML", description = "Also write the compare page of the sweep's runs.")
    Path compare;

    @Option(names = "--quiet", description = "Print nothing but errors: no progress, no log lines, no notes (the files written are still listed on stdout).")
    boolean quiet;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (mask != null && image == null) throw new IllegalArgumentException("--mask needs --image");
        RunStore st = store.open();
        Sweep.Kind kind = mask != null ? Sweep.Kind.INPAINT : image != null ? Sweep.Kind.IMG2IMG : Sweep.Kind.TXT2IMG;
        if (GenerateCommand.family("--model", model) == ModelFamily.SD) {
            if (refiner != null) {
                throw new IllegalArgumentException("--refiner is an SDXL-only setting, and " + model + " is a Stable Diffusion 1/2 model,"
                        + " which takes none of: " + ModelFamily.SDXL_ONLY_SETTINGS);
            }
            try (SdModel base = GenerateCommand.openSd(model, null, null)) {
                return sweep(Sweep.of(kind, base, image, mask), st);
            }
        }
        try (SdxlModel base = GenerateCommand.open("--model", model, null);
             SdxlModel ref = refiner == null ? null : GenerateCommand.open("--refiner", refiner, null)) {
            Sweep s = mask != null ? Sweep.inpaint(base, image, mask) : image != null ? Sweep.img2img(base, image) : Sweep.txt2img(base);
            return sweep(s.refinerModel(ref), st);
        }
    }

    /** Sets the axes and options, runs every cell and lists the runs (and writes the compare page). */
    private int sweep(Sweep s, RunStore st) {
        s.prompt(prompt).negativePrompt(negativePrompt).seeds(seeds.stream().mapToLong(Long::longValue).toArray());
        grid.apply(s);
        if (!quiet) {
            CellProgress progress = new CellProgress(System.err);
            s.onStep(progress).onCell(progress);
            spec.commandLine().getErr().println("sweep: " + s.cells().size() + " runs");
        }
        List<RunRecord> runs = s.run(st, store.experiment, store.tags);
        for (RunRecord r : runs) spec.commandLine().getOut().println(r.id() + "  " + axes(r));
        if (compare != null) {
            spec.commandLine().getOut().println(CompareReport.write(st, runs, List.of(), compare, false));
        }
        return 0;
    }

    static Double fraction(String s) {
        if (s.strip().equalsIgnoreCase("off")) return null;
        try {
            double f = Double.parseDouble(s.strip());
            if (!(f > 0 && f < 1)) throw new NumberFormatException();
            return f;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--refiner-fractions: expected 'off' or a number in (0, 1), got '" + s + "'");
        }
    }

    static String axes(RunRecord r) {
        List<String> parts = new ArrayList<>();
        if (r.sweep() != null) r.sweep().cell().forEach((k, v) -> parts.add(k + "=" + v));
        return String.join(" ", parts);
    }
}
