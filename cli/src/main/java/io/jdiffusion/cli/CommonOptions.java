package io.jdiffusion.cli;

import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/** Options every generation command takes. */
final class CommonOptions {
    @Option(names = "--model", required = true, paramLabel = "MODEL",
            description = {"Base model: a diffusers folder, a single-file checkpoint, or a Hugging Face id in the local cache;",
                    "SDXL, or SD 1.x/2.x (the family read from model_index.json or the file's keys)."})
    String model;

    @Option(names = "--config", paramLabel = "FOLDER",
            description = "For a single-file --model: take the configs from this diffusers folder instead of the built-in official ones.")
    Path config;

    @Option(names = "--refiner-config", paramLabel = "FOLDER", description = "Like --config, for a single-file --refiner.")
    Path refinerConfig;

    @Option(names = "--dtype", paramLabel = "TYPE",
            description = "CUDA compute and weight dtype: f16 (default), bf16 or f32 (the SDXL VAE runs in f32 regardless: force_upcast).")
    String dtype;

    @Option(names = "--vae", paramLabel = "FOLDER",
            description = "A diffusers VAE folder to use instead of the model's, e.g. sdxl-vae-fp16-fix (runs in f16 on CUDA).")
    Path vae;

    @Option(names = "--refiner", paramLabel = "MODEL",
            description = "Refiner model for the low-noise steps (needs --high-noise-fraction).")
    String refiner;

    @Option(names = "--high-noise-fraction", paramLabel = "F",
            description = "Share of the schedule the base runs before the refiner takes over (denoising_end / denoising_start), in (0, 1). Typical: 0.7–0.9.")
    @Setting("refiner.highNoiseFraction")
    Double highNoiseFraction;

    @Option(names = {"-p", "--prompt"}, required = true, description = "What to generate.")
    @Setting("prompts.prompt")
    List<String> prompt;

    @Option(names = "--prompt-2", description = "Prompt for the second text encoder (default: --prompt).")
    @Setting("prompts.prompt2")
    List<String> prompt2;

    @Option(names = {"-n", "--negative-prompt"}, description = "What to steer away from.")
    @Setting("prompts.negativePrompt")
    List<String> negativePrompt;

    @Option(names = "--negative-prompt-2", description = "Negative prompt for the second text encoder.")
    @Setting("prompts.negativePrompt2")
    List<String> negativePrompt2;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the torch-compatible generator (default: ${DEFAULT-VALUE}).")
    @Setting("schedule.seed")
    long seed;

    @Option(names = "--steps", description = "Number of denoising steps in the full schedule (default: 50).")
    @Setting("schedule.steps")
    Integer steps;

    @Option(names = {"-g", "--guidance"}, description = "Classifier-free guidance scale; 1 or less turns guidance off.")
    @Setting("guidance.scale")
    Double guidance;

    @Option(names = "--guidance-rescale", description = "guidance_rescale φ in [0, 1] (default 0).")
    @Setting("guidance.rescale")
    Double guidanceRescale;

    @Option(names = "--scheduler", description = "euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras, pndm (default: the model's own).")
    @Setting("schedule.scheduler")
    String scheduler;

    @Option(names = "--width", description = "Output width in pixels, a multiple of 8.")
    Integer width;

    @Option(names = "--height", description = "Output height in pixels, a multiple of 8.")
    Integer height;

    @Option(names = "--num-images", defaultValue = "1", description = "Images per prompt (default: ${DEFAULT-VALUE}).")
    @Setting("size.imagesPerPrompt")
    int numImages;

    @Option(names = "--clip-skip", description = "Use an earlier CLIP layer for the prompt (diffusers' clip_skip).")
    @Setting("guidance.clipSkip")
    Integer clipSkip;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "PNG",
            description = "Output PNG; with several images, -1, -2, … are inserted before the extension.")
    Path output;

    @Option(names = "--quiet", description = "Print nothing but errors: no progress, no log lines, no notes (the files written are still listed on stdout).")
    boolean quiet;

    @Option(names = "--force", description = "Write through an --output that is a symbolic link, device or FIFO instead of refusing it (a regular file is always replaced atomically).")
    boolean force;

    @Option(names = "--vram", paramLabel = "SIZE",
            description = {"Device memory budget, e.g. 8g or 6144m: the text encoders, UNets and VAE take turns on the device,",
                    "the VAE tiles when it must, and the peak device memory is printed. Default: no limit."})
    String vram;

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]",
            description = {"A LoRA adapter (diffusers/PEFT or kohya/A1111 .safetensors) fused into the base model at SCALE",
                    "(default 1); repeatable, adapters add up. Recorded with the file's SHA-256."})
    java.util.List<String> loras = new java.util.ArrayList<>();

    @Option(names = "--refiner-lora", paramLabel = "FILE[:SCALE]", description = "As --lora, for the refiner; repeatable.")
    java.util.List<String> refinerLoras = new java.util.ArrayList<>();

    @Option(names = "--lora-lenient",
            description = "Skip LoRA tensors that match no module of the model (default: refuse the adapter, listing them).")
    boolean loraLenient;

    @Option(names = "--prediction-type", paramLabel = "TYPE",
            description = {"For a single-file SD 2 checkpoint: v_prediction for the 768 px model (its keys cannot say so; diffusers",
                    "asks the same), epsilon (default) for the 512 px one. A diffusers folder's scheduler config says it itself."})
    String predictionType;

    /** Applies the options to an SDXL pipeline; throws IllegalArgumentException naming a bad option. */
    void apply(SdxlPipeline<?> p) {
        if (highNoiseFraction != null && refiner == null) {
            throw new IllegalArgumentException("--high-noise-fraction is the base's share of the schedule before the refiner takes over;"
                    + " it needs --refiner MODEL (without a refiner it would change nothing)");
        }
        if (refiner != null && highNoiseFraction == null) {
            throw new IllegalArgumentException("--refiner needs --high-noise-fraction (e.g. 0.8)");
        }
        applyShared(p);
        applyLoras(p);
    }

    /**
     * Refuses, naming the option, what an SD 1/2 model cannot take (before any weight is read): the
     * SDXL-only settings, and what this engine does not do for SD 1/2 yet (LoRA, --vae).
     */
    void refuseForSd(String model) {
        String why = " is an SDXL-only setting, and " + model + " is a Stable Diffusion 1/2 model (model_index.json _class_name"
                + " StableDiffusion*Pipeline), which takes none of: " + io.jdiffusion.pipelines.ModelFamily.SDXL_ONLY_SETTINGS;
        String notYet = " is not supported for Stable Diffusion 1/2 models (" + model + ") yet";
        if (refiner != null) throw new IllegalArgumentException("--refiner" + why);
        if (highNoiseFraction != null) throw new IllegalArgumentException("--high-noise-fraction (the refiner's share)" + why);
        if (refinerConfig != null) throw new IllegalArgumentException("--refiner-config" + why);
        if (!refinerLoras.isEmpty()) throw new IllegalArgumentException("--refiner-lora" + why);
        if (prompt2 != null) throw new IllegalArgumentException("--prompt-2" + why);
        if (negativePrompt2 != null) throw new IllegalArgumentException("--negative-prompt-2" + why);
        if (!loras.isEmpty() || loraLenient) throw new IllegalArgumentException("--lora" + notYet);
        if (vae != null) throw new IllegalArgumentException("--vae" + notYet);
    }

    /** Applies the options every family takes (SDXL and SD 1/2); throws IllegalArgumentException naming a bad option. */
    void applyShared(io.jdiffusion.pipelines.GenerationPipeline<?> p) {
        if (vram != null) option("--vram", () -> p.vram(io.jdiffusion.tensor.Backends.parseBytes(vram, "--vram")));
        SettingOptions.apply(this, p);
        if (width != null || height != null) {
            if (width == null || height == null) throw new IllegalArgumentException("--width and --height go together");
            option("--width/--height", () -> p.size(width, height));
        }
        if (!quiet) p.onStep(new ProgressBar(System.err));
    }

    /** --lora, --refiner-lora, --lora-lenient: each adapter read and checked against its model now. */
    private void applyLoras(SdxlPipeline<?> p) {
        p.loraLenient(loraLenient);
        for (String l : loras) option("--lora", () -> {
            LoraOption o = LoraOption.parse(l);
            p.lora(o.file(), o.scale());
        });
        if (!refinerLoras.isEmpty() && refiner == null) throw new IllegalArgumentException("--refiner-lora needs --refiner");
        for (String l : refinerLoras) option("--refiner-lora", () -> {
            LoraOption o = LoraOption.parse(l);
            p.refinerLora(o.file(), o.scale());
        });
    }

    /** Runs a setter, prefixing its message with the option's name. */
    static void option(String name, Runnable setter) {
        try {
            setter.run();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
    }
}
