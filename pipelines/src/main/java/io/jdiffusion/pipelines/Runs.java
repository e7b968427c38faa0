package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageProcessor;
import io.jdiffusion.schedulers.Scheduler;
import io.jdiffusion.schedulers.TimestepPlan;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the three pipelines share after the denoising: results, records, step counts. */
final class Runs {
    private Runs() {}

    /** Roles of a record's {@code models} that name a VAE folder used instead of the base's or the refiner's own. */
    static final String VAE_ROLE = "vae", REFINER_VAE_ROLE = "refiner-vae";

    static GenerationResult result(DenoisingLoop.Output out, GenerationRecord record) {
        if (out.latents()) return new GenerationResult(List.of(), null, out.data(), out.shape(), record);
        int[] s = out.shape();
        return new GenerationResult(ImageProcessor.fromUnitNhwc(io.jdiffusion.tensor.Tensor.of(out.data(), s)), out.data(), null, s, record);
    }

    /** How many steps a pipeline call will run (the schedule after strength, denoising_start and denoising_end). */
    static int plannedSteps(SdxlModel model, String scheduler, DenoisingSpec spec) {
        Scheduler s = model.scheduler(scheduler);
        s.setTimesteps(spec.steps());
        return spec.kind() == DenoisingSpec.Kind.TEXT_TO_IMAGE
                ? TimestepPlan.text2img(s, spec.denoisingEnd()).steps()
                : TimestepPlan.img2img(s, spec.steps(), spec.strength(), spec.denoisingStart(), spec.denoisingEnd()).steps();
    }

    static GenerationRecord record(SdxlPipeline<?> p, String kind, int w, int h, Double strength,
                                   String imageOrigin, Image image, String maskOrigin, Image mask) {
        Map<String, String> models = new LinkedHashMap<>();
        models.put("base", p.base.name());
        Map<String, String> hashes = new LinkedHashMap<>();
        p.model().weightHashes().forEach((file, hash) -> hashes.put("base/" + file, hash));
        if (p.refiner != null) {
            models.put("refiner", p.refiner.name());
            p.refiner.weightHashes().forEach((file, hash) -> hashes.put("refiner/" + file, hash));
        }
        // a VAE folder replacing the models' own (--vae): reproduce must load it again
        if (p.base.vaeFolder() != null) models.put(VAE_ROLE, p.base.vaeFolder().toString());
        if (p.refiner != null && p.refiner.vaeFolder() != null) models.put(REFINER_VAE_ROLE, p.refiner.vaeFolder().toString());
        Map<String, GenerationRecord.InputFile> inputs = inputs(imageOrigin, image, maskOrigin, mask);
        GenerationSettings s = p.settings;
        // only what the run used: its strength, and the mask tools of inpainting
        s = s.with(s.schedule().withStrength(strength));
        if (!kind.equals("inpaint") && !kind.equals("outpaint")) s = s.with(GenerationSettings.Mask.NONE);
        String scheduler = s.schedule().scheduler() == null ? p.base.scheduler(null).getClass().getSimpleName() : s.schedule().scheduler();
        var from = new GenerationRecord.Provenance(models, configs(p), p.unetOverride == null ? null : p.unetOverride.toString(),
                hashes, inputs, p.base.backendName(), loras(p));
        return GenerationRecord.of(kind, s, scheduler, w, h, p.refiner != null, p.refiner != null || p.base.requiresAestheticsScore(), from);
    }

    /** The record's inputs: each image given, with the file it came from (absolute; null when unknown) and its pixel hash. */
    static Map<String, GenerationRecord.InputFile> inputs(String imageOrigin, Image image, String maskOrigin, Image mask) {
        Map<String, GenerationRecord.InputFile> inputs = new LinkedHashMap<>();
        if (image != null) inputs.put("image", new GenerationRecord.InputFile(absolute(imageOrigin), pixelHash(image)));
        if (mask != null) inputs.put("mask", new GenerationRecord.InputFile(absolute(maskOrigin), pixelHash(mask)));
        return inputs;
    }

    /** The LoRA adapters fused into the base and refiner, in order; null when none. */
    private static List<GenerationRecord.LoraUse> loras(SdxlPipeline<?> p) {
        List<GenerationRecord.LoraUse> l = new java.util.ArrayList<>();
        for (var e : p.base.loras().entries()) {
            l.add(new GenerationRecord.LoraUse("base", absolute(e.adapter().path().toString()), e.adapter().sha256(), e.scale(), p.base.loras().lenient()));
        }
        if (p.refiner != null) {
            for (var e : p.refiner.loras().entries()) {
                l.add(new GenerationRecord.LoraUse("refiner", absolute(e.adapter().path().toString()), e.adapter().sha256(), e.scale(),
                        p.refiner.loras().lenient()));
            }
        }
        return l.isEmpty() ? null : l;
    }

    private static Map<String, String> configs(SdxlPipeline<?> p) {
        Map<String, String> c = new LinkedHashMap<>();
        if (p.base.explicitConfigFolder() != null) c.put("base", p.base.explicitConfigFolder().toString());
        if (p.refiner != null && p.refiner.explicitConfigFolder() != null) c.put("refiner", p.refiner.explicitConfigFolder().toString());
        return c.isEmpty() ? null : c;
    }

    private static String absolute(String path) {
        return path == null ? null : java.nio.file.Path.of(path).toAbsolutePath().normalize().toString();
    }

    /** SHA-256 of an image's size, channels and pixels (the file's encoding does not matter). */
    static String pixelHash(Image img) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update((img.width() + "x" + img.height() + "x" + img.channels()).getBytes());
            md.update(img.data());
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
