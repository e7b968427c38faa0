package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.schedulers.Scheduler;
import io.jdiffusion.schedulers.SchedulerConfig;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.text.PromptEncoder;
import io.jdiffusion.text.SdPromptEncoder;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Stable Diffusion 1.x/2.x model in diffusers' folder layout (model_index.json with
 * {@code _class_name} StableDiffusion[Img2Img|Inpaint]Pipeline, tokenizer/, text_encoder/, unet/,
 * vae/, scheduler/), built from its configs by the same UNet, VAE, CLIP and scheduler classes as
 * SDXL. Components load on first use and stay loaded until {@link #close()}.
 */
public final class SdModel implements AutoCloseable {
    private static final List<String> COMPONENTS = List.of("tokenizer", "text_encoder", "unet", "vae", "scheduler");

    private final String name;
    private final Path folder;
    private final Backend backend;
    private SdPromptEncoder text;
    private AutoencoderKL vae;
    private final Map<Path, UNet2DConditionModel> unets = new LinkedHashMap<>();
    private SchedulerConfig schedulerConfig;

    private SdModel(String name, Path folder, Backend backend) {
        this.name = name;
        this.folder = folder;
        this.backend = backend;
    }

    /** Opens an SD 1/2 diffusers folder or cached Hugging Face id on the automatically chosen backend. */
    public static SdModel load(String nameOrPath) { return load(nameOrPath, Backends.get()); }

    public static SdModel load(String nameOrPath, Backend backend) {
        Path p = ModelLocator.resolve(nameOrPath);
        if (!Files.isDirectory(p)) {
            throw new IllegalArgumentException("model '" + nameOrPath + "': SD 1/2 models load from a diffusers folder or Hugging Face id; "
                    + "single-file SD 1/2 checkpoints are not supported yet");
        }
        ModelFamily family = ModelFamily.of(p);
        if (family != ModelFamily.SD) {
            throw new IllegalArgumentException("model folder " + p + " is not a Stable Diffusion 1/2 model: model_index.json _class_name must be "
                    + "StableDiffusionPipeline, StableDiffusionImg2ImgPipeline or StableDiffusionInpaintPipeline"
                    + (family == ModelFamily.SDXL ? " (this is an SDXL model: use the SDXL pipelines)" : ""));
        }
        for (String c : COMPONENTS) {
            if (!Files.isDirectory(p.resolve(c))) throw new IllegalArgumentException("model folder " + p + " lacks the component '" + c + "/'");
        }
        return new SdModel(Files.exists(Path.of(nameOrPath)) ? p.toString() : nameOrPath, p, backend);
    }

    public String name() { return name; }

    public Path folder() { return folder; }

    public Backend backend() { return backend; }

    /** unet.sample_size × 8: diffusers' default image size (512 for SD 1.5 and 2-base, 768 for SD 2). */
    public int defaultImageSize() {
        Path config = folder.resolve("unet").resolve("config.json");
        try {
            return new ObjectMapper().readTree(config.toFile()).path("sample_size").asInt(64) * 8;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + config, e);
        }
    }

    /** A fresh scheduler: the model's own (PNDM for SD 1.5, DDIM v-prediction for SD 2), or one by short name. */
    public Scheduler scheduler(String shortName) {
        synchronized (this) {
            if (schedulerConfig == null) schedulerConfig = SchedulerConfig.readDir(folder.resolve("scheduler"));
        }
        return SchedulerNames.create(shortName, schedulerConfig);
    }

    /** A sampler with a fresh scheduler, over this model's UNet or the one in {@code unetFolder} (null: the model's). */
    DenoisingLoop denoisingLoop(String schedulerName, Path unetFolder) {
        Path unetDir = unetFolder != null ? unetFolder : folder.resolve("unet");
        return new DenoisingLoop(backend, new DenoisingLoop.Components() {
            @Override public PromptEncoder text() { return SdModel.this.text(); }
            @Override public UNet2DConditionConfig unetConfig() { return UNet2DConditionConfig.load(unetDir.resolve("config.json")); }
            @Override public UNet2DConditionModel unet() { return SdModel.this.unet(unetDir); }
            @Override public AutoencoderKL vae(int latentHeight, int latentWidth) { return SdModel.this.vae(); }
        }, scheduler(schedulerName), false);
    }

    private synchronized SdPromptEncoder text() {
        if (text == null) text = SdPromptEncoder.load(folder, backend, null);
        return text;
    }

    private synchronized UNet2DConditionModel unet(Path dir) {
        return unets.computeIfAbsent(dir.toAbsolutePath().normalize(), d -> UNet2DConditionModel.load(d, backend));
    }

    private synchronized AutoencoderKL vae() {
        if (vae == null) vae = AutoencoderKL.load(folder.resolve("vae"), backend);
        return vae;
    }

    @Override
    public synchronized void close() {
        if (text != null) text.close();
        unets.values().forEach(UNet2DConditionModel::close);
        unets.clear();
        text = null;
        vae = null;
    }
}
