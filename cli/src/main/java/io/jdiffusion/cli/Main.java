package io.jdiffusion.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code jdiffusion} command. Exit status: 0 success, 2 bad arguments (the message names the
 * option), 1 failure while running; no output file is left behind by a failed run.
 */
@Command(name = "jdiffusion",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
                "Stable Diffusion XL in pure Java: text-to-image, image-to-image, inpainting and outpainting,",
                "with the base model for the high-noise steps and the refiner for the rest.",
                "",
                "Models are diffusers folders (model_index.json, unet/, vae/, text_encoder*/, tokenizer*/, scheduler/),",
                "Hugging Face ids already in the local cache (~/.cache/huggingface/hub, $HF_HOME), or Stability's",
                "single-file checkpoints. Every PNG written carries its full generation record; `reproduce` regenerates it."},
        subcommands = {Txt2ImgCommand.class, Img2ImgCommand.class, InpaintCommand.class, OutpaintCommand.class,
                ReproduceCommand.class, SweepCommand.class, BatchCommand.class, RunsCommand.class, ProfileCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Examples:",
                "  jdiffusion txt2img --model stabilityai/stable-diffusion-xl-base-1.0 \\",
                "      --prompt 'a lighthouse at dusk' -o out.png",
                "  jdiffusion inpaint --model stabilityai/stable-diffusion-xl-base-1.0 \\",
                "      --refiner stabilityai/stable-diffusion-xl-refiner-1.0 \\",
                "      --high-noise-fraction 0.8 --image photo.png --mask object.png \\",
                "      --dilate 15x2 --prompt 'a red vase' --steps 70 --seed 42 -o vase.png",
                "  jdiffusion reproduce vase.png -o again.png",
                "",
                "Exit status: 0 success, 2 bad arguments, 1 failure while running."})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        // every command, read from the registered subcommands so that a new one is listed too
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command: " + String.join(", ", spec.subcommands().keySet()));
    }

    public static void main(String[] args) {
        // Terse log lines on stderr for the command line (a user's own settings win).
        System.setProperty("org.slf4j.simpleLogger.showThreadName", System.getProperty("org.slf4j.simpleLogger.showThreadName", "false"));
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", System.getProperty("org.slf4j.simpleLogger.showShortLogName", "true"));
        // --quiet: nothing but errors, so log lines below WARN are off (set before the first logger exists)
        if (quiet(args) && System.getProperty(LOG_LEVEL) == null) System.setProperty(LOG_LEVEL, "warn");
        System.exit(execute(args));
    }

    private static final String LOG_LEVEL = "org.slf4j.simpleLogger.defaultLogLevel";

    /** Whether the command line asks for --quiet (as an option of the command, not as another option's value). */
    static boolean quiet(String... args) {
        try {
            CommandLine.ParseResult r = new CommandLine(new Main()).parseArgs(args);
            for (CommandLine.ParseResult sub = r; sub != null; sub = sub.subcommand()) {
                if (sub.hasMatchedOption("--quiet")) return true;
            }
        } catch (CommandLine.ParameterException e) {
            // reported when the command line runs
        }
        return false;
    }

    /** The command line with its help laid out for the terminal ({@link HelpLayout}). */
    static CommandLine commandLine() { return HelpLayout.apply(new CommandLine(new Main())); }

    /** Runs the command line and returns the exit status (for tests and embedding). */
    public static int execute(String... args) {
        CommandLine cl = commandLine();
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof IllegalArgumentException) {
                line.getErr().println("jdiffusion: " + ErrorReport.describe(ex));
                return 2;
            }
            line.getErr().println("jdiffusion: failed: " + ErrorReport.describe(ex));
            if (System.getenv("JDIFFUSION_DEBUG") != null) ex.printStackTrace(line.getErr());
            return 1;
        });
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("jdiffusion: " + ErrorReport.describe(ex));
            ex.getCommandLine().getErr().println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return 2;
        });
        try {
            return cl.execute(args);
        } catch (OutOfMemoryError e) { // a last resort: sizes are checked before work, but memory is shared with others
            cl.getErr().println("jdiffusion: failed: " + ErrorReport.describe(e));
            return 1;
        }
    }
}
