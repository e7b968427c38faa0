package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.VaeConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The dtype policy of model loading, one place for all components:
 * <ul>
 *   <li>on a device, weights live in the backend's compute dtype (CUDA: F16 by default, BF16 or F32
 *       by option), converted once at load whatever the file holds ({@code Params.load});</li>
 *   <li>when that dtype is F16, the fp16 variant files ({@code *.fp16.safetensors}) are preferred
 *       (half the bytes to read), the plain ones are the fallback;</li>
 *   <li>the VAE follows its config's {@code force_upcast} as diffusers does: true (the SDXL VAE,
 *       which overflows in fp16) runs it in F32; false (a fixed fp16 VAE such as madebyollin's
 *       sdxl-vae-fp16-fix) in the compute dtype;</li>
 *   <li>the CPU computes in F32 and reads weights as stored, in place.</li>
 * </ul>
 * The policy is logged once per process, when the first model loads.
 */
public final class DevicePrecision {
    private static final Logger LOG = LoggerFactory.getLogger(DevicePrecision.class);
    private static final AtomicBoolean LOGGED = new AtomicBoolean();

    private DevicePrecision() {}

    static boolean onDevice(Backend b) { return b.device().kind() != Device.Kind.CPU; }

    /** The backend the VAE of {@code cfg} runs on: F32 when {@code force_upcast}, else the model's. */
    public static Backend vaeBackend(Backend b, VaeConfig cfg) {
        return cfg.forceUpcast() && b.computeType() != DType.F32 ? b.withComputeType(DType.F32) : b;
    }

    /** "fp16" when weights are to live in F16 on a device, else null (the plain files). */
    public static String preferredVariant(Backend b) {
        return onDevice(b) && b.computeType() == DType.F16 ? "fp16" : null;
    }

    /**
     * {@link #preferredVariant} when every one of {@code folders} holds fp16 variant files, else null
     * (plain files: a variant asked for must exist).
     */
    static String variantIn(Backend b, Path... folders) {
        String v = preferredVariant(b);
        if (v == null) return null;
        for (Path f : folders) {
            if (!Files.isDirectory(f)) continue;   // e.g. the refiner has no text_encoder/
            try (java.util.stream.Stream<Path> s = Files.list(f)) {
                if (s.noneMatch(p -> p.getFileName().toString().contains("." + v + "."))) return null;
            } catch (java.io.IOException | java.io.UncheckedIOException e) {
                return null;
            }
        }
        return v;
    }

    /** The UNet weight file of {@code folder}: the fp16 variant first where {@link #preferredVariant} says so. */
    static Path unetWeights(Path folder, Backend b) {
        // the one weight-file locator: the variant (single file or diffusers' .safetensors.index.fp16.json) or else the plain files
        return io.jdiffusion.tensor.weights.ModelFiles.find(folder, io.jdiffusion.tensor.weights.ModelFiles.DIFFUSERS, preferredVariant(b)).file();
    }

    /** One line for the log: what the weights and activations of each part will be. */
    public static String describe(Backend b, VaeConfig vae) {
        String t = b.computeType().name().toLowerCase(Locale.ROOT);
        if (!onDevice(b)) return "precision: cpu computes in f32, weights read as stored";
        String v = vaeBackend(b, vae).computeType().name().toLowerCase(Locale.ROOT);
        return "precision: " + b.name() + " text encoders and UNet in " + t + " (weights converted once at load"
                + (preferredVariant(b) != null ? ", fp16 variant files preferred" : "") + "), VAE in " + v
                + (vae.forceUpcast() ? " (force_upcast)" : "");
    }

    /** Logs {@link #describe} once per process. */
    static void logOnce(Backend b, VaeConfig vae) {
        if (LOGGED.compareAndSet(false, true)) LOG.info("{}", describe(b, vae));
    }
}
