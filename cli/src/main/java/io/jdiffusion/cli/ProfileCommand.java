package io.jdiffusion.cli;

import io.jdiffusion.pipelines.profile.DeviceProfiler;
import io.jdiffusion.pipelines.profile.ProfileReport;
import io.jdiffusion.pipelines.profile.ProfileRequest;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code jdiffusion profile}: device memory, kernel launches, FLOPs and copies of a run, without a GPU or weights. */
@Command(name = "profile", mixinStandardHelpOptions = true,
        description = {"Runs a whole generation on a shape-only device (nothing is computed) and prints what a GPU would need:",
                "peak device memory (by component), weights, activations per step, kernel launches, GEMM FLOPs, host<->device copies.",
                "Built-in names (sdxl-base, sdxl-refiner, sdxl-inpaint) use the bundled official configs: no weights needed;",
                "a --vae folder's weights are mapped, never read.",
                "Example: jdiffusion profile --model sdxl-base --refiner sdxl-refiner --inpaint --width 1024 --height 1024 --vram 8g"})
final class ProfileCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    // the options, one a line: what to load, what the run does, the device
    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "Folder, single .safetensors file, Hugging Face id, or sdxl-base / sdxl-refiner / sdxl-inpaint.") String model;
    @Option(names = "--refiner", paramLabel = "MODEL", description = "A refiner for the last steps (same kinds of name).") String refiner;
    @Option(names = "--vae", paramLabel = "FOLDER", description = "A diffusers VAE folder replacing the models' own, e.g. sdxl-vae-fp16-fix (force_upcast false: runs in --dtype, not f32).") Path vae;
    @Option(names = "--width", defaultValue = "1024", description = "Image width in pixels (default: ${DEFAULT-VALUE}).") int width;
    @Option(names = "--height", defaultValue = "1024", description = "Image height in pixels (default: ${DEFAULT-VALUE}).") int height;
    @Option(names = "--steps", defaultValue = "70", description = "Denoising steps in all (default: ${DEFAULT-VALUE}).") int steps;
    @Option(names = "--high-noise-fraction", defaultValue = "0.8", description = "Share of the steps the base runs before the refiner (default: ${DEFAULT-VALUE}).") double highNoiseFraction;
    @Option(names = {"--inpaint", "--img2img"}, description = "The run starts from an image: each model encodes it with the VAE.") boolean encodesImage;
    @Option(names = "--dtype", defaultValue = "f16", description = "Device compute dtype: f16, bf16 or f32 (default: ${DEFAULT-VALUE}).") String dtype;
    @Option(names = "--vram", paramLabel = "SIZE", description = "Device memory budget, e.g. 8g; the unlimited peak is reported beside it.") String vram;
    @Option(names = "--json", description = "Print one JSON object instead of a table.") boolean json;

    @Override
    public Integer call() {
        ProfileRequest r = new ProfileRequest(model, refiner, width, height, parseDtype(dtype),
                vram == null ? 0 : Backends.parseBytes(vram, "--vram"), steps, highNoiseFraction, encodesImage, vae);
        ProfileReport report = DeviceProfiler.run(r);
        spec.commandLine().getOut().println(json ? report.toJson() : report.toTable());
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** f16, bf16 or f32 (any case); anything else is an error naming --dtype. */
    static DType parseDtype(String s) {
        return switch (s.trim().toLowerCase(Locale.ROOT)) {
            case "f16", "fp16", "float16" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            case "f32", "fp32", "float32" -> DType.F32;
            default -> throw new IllegalArgumentException("--dtype must be f16, bf16 or f32, got '" + s + "'");
        };
    }
}
