package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;

import java.nio.file.Files;
import java.nio.file.Path;

/** Rebuilds the pipeline call described by a generation record, so that it regenerates the same bytes. */
public final class Reproduction {
    private Reproduction() {}

    /** The record embedded in a PNG or JPEG written by jdiffusion. */
    public static GenerationRecord readRecord(Path png) {
        String json = io.jdiffusion.pipelines.image.ImageMetadata.read(png).get(io.jdiffusion.pipelines.image.PngWriter.JDIFFUSION_KEYWORD);
        if (json == null) throw new IllegalArgumentException(png + " carries no jdiffusion generation record");
        try {
            return GenerationRecordCheck.check(GenerationRecord.fromJson(json));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(png + ": " + e.getMessage(), e);
        }
    }

    /** The pixel hash a record keeps of an input image file (size, channels and pixels; not the file's encoding). */
    public static String pixelHash(Path image) { return Runs.pixelHash(ImageFiles.read(image)); }

    /**
     * A configured pipeline (models opened lazily) that reruns the record, an SDXL or an SD 1/2 one as
     * the record's family says; close it after use.
     */
    public static GenerationPipeline<?> pipeline(GenerationRecord r) {
        if (!r.modelFamily().equals(GenerationRecord.FAMILY_SDXL)) return sdPipeline(r);
        SdxlModel base = open(r, "base");
        SdxlPipeline<?> p = switch (r.pipeline()) {
            case "txt2img" -> Text2ImagePipeline.of(base);
            case "img2img" -> Img2ImgPipeline.of(base).image(input(r, "image"), r.inputs().get("image").path());
            case "inpaint", "outpaint" -> {
                InpaintPipeline i = InpaintPipeline.of(base);
                i.image(input(r, "image"), r.inputs().get("image").path());
                if (r.inputs().containsKey("mask")) i.mask(input(r, "mask"), r.inputs().get("mask").path());
                yield i;
            }
            default -> throw new IllegalArgumentException("unknown pipeline '" + r.pipeline() + "' in the record");
        };
        checkScheduler(r, base.scheduler(null).getClass().getSimpleName());
        p.settings(r.settings());
        if (r.unet() != null) p.unetOverride(Path.of(r.unet()));
        if (r.models().containsKey("refiner")) p.refiner(open(r, "refiner"));
        if (r.loras() != null) loras(r, p);
        p.ownModels();
        return p;
    }

    /** An SD 1/2 record's pipeline, which owns its model. */
    private static SdPipeline sdPipeline(GenerationRecord r) {
        DenoisingSpec.Kind kind = switch (r.pipeline()) {
            case "txt2img" -> DenoisingSpec.Kind.TEXT_TO_IMAGE;
            case "img2img" -> DenoisingSpec.Kind.IMAGE_TO_IMAGE;
            case "inpaint", "outpaint" -> DenoisingSpec.Kind.INPAINT;
            default -> throw new IllegalArgumentException("unknown pipeline '" + r.pipeline() + "' in the record");
        };
        String config = r.configs() == null ? null : r.configs().get("base");
        SdPipeline p = SdPipeline.of(kind, SdModel.load(r.models().get("base"), config == null ? null : Path.of(config), null,
                io.jdiffusion.tensor.Backends.get()));
        try {
            if (kind != DenoisingSpec.Kind.TEXT_TO_IMAGE) p.image(input(r, "image"), r.inputs().get("image").path());
            if (r.inputs() != null && r.inputs().containsKey("mask")) p.mask(input(r, "mask"), r.inputs().get("mask").path());
            checkScheduler(r, p.model().scheduler(null).getClass().getSimpleName());
            p.settings(r.settings());
            if (r.unet() != null) p.unet(Path.of(r.unet()));
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** The record names a scheduler short name, or the model's own scheduler class when no short name was chosen; anything else is unknown. */
    private static void checkScheduler(GenerationRecord r, String modelScheduler) {
        if (r.scheduler() != null && !SchedulerNames.isName(r.scheduler()) && !r.scheduler().equals(modelScheduler)) {
            throw new IllegalArgumentException("unknown scheduler '" + r.scheduler() + "' in the record; known: "
                    + String.join(", ", SchedulerNames.NAMES) + " or the model's own " + modelScheduler);
        }
    }

    /** The record's LoRA adapters, each file checked against its recorded SHA-256. */
    private static void loras(GenerationRecord r, SdxlPipeline<?> p) {
        for (GenerationRecord.LoraUse l : r.loras()) {
            Path f = Path.of(l.path());
            if (!Files.isRegularFile(f)) throw new IllegalArgumentException("LoRA file " + f + " named in the record is missing");
            String hash = io.jdiffusion.pipelines.lora.LoraAdapter.read(f).sha256();
            if (!hash.equals(l.sha256())) {
                throw new IllegalArgumentException("LoRA file " + f + " has changed since the run (SHA-256 " + hash.substring(0, 12)
                        + "…, recorded " + l.sha256().substring(0, Math.min(12, l.sha256().length())) + "…)");
            }
            p.loraLenient(l.lenient());
            if (l.role().equals("refiner")) p.refinerLora(f, l.scale());
            else p.lora(f, l.scale());
        }
    }

    private static SdxlModel open(GenerationRecord r, String role) {
        String config = r.configs() == null ? null : r.configs().get(role);
        SdxlModel m = SdxlModel.load(r.models().get(role), config == null ? null : Path.of(config), io.jdiffusion.tensor.Backends.get());
        return withRecordedVae(m, r.models(), role);
    }

    /**
     * {@code m} with the VAE folder the record names for {@code role} ("base": models.vae; "refiner":
     * models.refiner-vae), if any; a record without one keeps the model's own VAE.
     */
    public static SdxlModel withRecordedVae(SdxlModel m, java.util.Map<String, String> models, String role) {
        String vae = models.get(role.equals("refiner") ? Runs.REFINER_VAE_ROLE : Runs.VAE_ROLE);
        if (vae == null || isVaeRole(role)) return m;
        if (!Files.isDirectory(Path.of(vae))) throw new IllegalArgumentException("VAE folder " + vae + " named in the record is missing");
        return m.withVae(Path.of(vae));
    }

    /** Whether a role of a record's {@code models} names a VAE folder rather than a model. */
    public static boolean isVaeRole(String role) { return role.equals(Runs.VAE_ROLE) || role.equals(Runs.REFINER_VAE_ROLE); }

    /** Reads an input named in the record and checks that its pixels are the ones recorded. */
    private static Image input(GenerationRecord r, String role) {
        GenerationRecord.InputFile f = r.inputs().get(role);
        if (f == null || f.path() == null) throw new IllegalArgumentException("the record names no " + role + " file");
        Path p = Path.of(f.path());
        if (!Files.isRegularFile(p)) throw new IllegalArgumentException(role + " file " + p + " named in the record is missing");
        Image img = ImageFiles.read(p);
        String hash = Runs.pixelHash(img);
        if (!hash.equals(f.pixelSha256())) {
            throw new IllegalArgumentException(role + " file " + p + " has changed since the run (pixel hash " + hash.substring(0, 12)
                    + "…, recorded " + f.pixelSha256().substring(0, Math.min(12, f.pixelSha256().length())) + "…)");
        }
        return img;
    }
}
