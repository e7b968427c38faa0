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
import java.util.TreeMap;

/**
 * A Stable Diffusion 1.x/2.x model in diffusers' folder layout (model_index.json with
 * {@code _class_name} StableDiffusion[Img2Img|Inpaint]Pipeline, tokenizer/, text_encoder/, unet/,
 * vae/, scheduler/), built from its configs by the same UNet, VAE, CLIP and scheduler classes as
 * SDXL. Components load on first use and stay loaded until {@link #close()}, or, under a
 * {@link DeviceBudget}, take turns on the device as SDXL's do.
 */
public final class SdModel implements AutoCloseable {
    private static final List<String> COMPONENTS = List.of("tokenizer", "text_encoder", "unet", "vae", "scheduler");

    /** The family names a generation record keeps: SD 1.x (CLIP ViT-L) and SD 2.x (OpenCLIP ViT-H). */
    public static final String FAMILY_SD1 = "sd1", FAMILY_SD2 = "sd2";

    private final String name;
    private final Path folder;
    private final Backend backend;
    private DeviceBudget budget;
    private DeviceBudget.Slot<SdPromptEncoder> textSlot;
    private DeviceBudget.Slot<AutoencoderKL> vaeSlot;
    private final Map<Path, DeviceBudget.Slot<UNet2DConditionModel>> unetSlots = new LinkedHashMap<>();
    private SchedulerConfig schedulerConfig;
    private final Map<Path, Map<String, String>> hashes = new LinkedHashMap<>();

    private SdModel(String name, Path folder, Backend backend) {
        this.name = name;
        this.folder = folder;
        this.backend = backend;
        this.budget = DeviceBudget.unlimited(backend);
        makeSlots();
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

    public String backendName() { return backend.name(); }

    /**
     * {@link #FAMILY_SD1} or {@link #FAMILY_SD2}: SD 2's OpenCLIP ViT-H text encoder uses gelu where
     * SD 1's CLIP ViT-L uses quick_gelu (the one config value that tells the two apart at every size).
     */
    public String family() {
        Path config = folder.resolve("text_encoder").resolve("config.json");
        try {
            return new ObjectMapper().readTree(config.toFile()).path("hidden_act").asText("quick_gelu").equals("quick_gelu") ? FAMILY_SD1 : FAMILY_SD2;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + config, e);
        }
    }

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
        Path unetDir = unetDir(unetFolder);
        return new DenoisingLoop(backend, new DenoisingLoop.Components() {
            @Override public PromptEncoder text() { return slots().text.get(); }
            @Override public UNet2DConditionConfig unetConfig() { return UNet2DConditionConfig.load(unetDir.resolve("config.json")); }
            @Override public UNet2DConditionModel unet() { return unetSlot(unetDir).get(); }
            @Override public AutoencoderKL vae(int latentHeight, int latentWidth) { return vaeFor(latentHeight, latentWidth); }
        }, scheduler(schedulerName), false);
    }

    private Path unetDir(Path unetFolder) {
        return (unetFolder != null ? unetFolder : folder.resolve("unet")).toAbsolutePath().normalize();
    }

    /**
     * Puts this model's components under {@code b}: they load on use and unload when others need the
     * room; the VAE tiles when the budget cannot hold a whole image's activations. Loaded components
     * are unloaded first.
     */
    public synchronized SdModel deviceBudget(DeviceBudget b) {
        if (b.backend() != backend) throw new IllegalArgumentException("the device budget is for backend " + b.backend().name()
                + ", this model runs on another backend instance (" + backend.name() + ")");
        if (b == budget) return this;
        unloadAll();
        budget = b;
        makeSlots();
        return this;
    }

    /** The device budget this model's components live under (unlimited unless one was set). */
    public synchronized DeviceBudget deviceBudget() { return budget; }

    private void makeSlots() {
        textSlot = budget.slot(name + " text encoder", () -> SdPromptEncoder.load(folder, backend, null), SdPromptEncoder::close);
        vaeSlot = budget.slot(name + " VAE", () -> AutoencoderKL.load(folder.resolve("vae"), backend), null);
        unetSlots.clear();
    }

    private record Slots(DeviceBudget budget, DeviceBudget.Slot<SdPromptEncoder> text, DeviceBudget.Slot<AutoencoderKL> vae) {}

    private synchronized Slots slots() { return new Slots(budget, textSlot, vaeSlot); }

    private synchronized DeviceBudget.Slot<UNet2DConditionModel> unetSlot(Path dir) {
        return unetSlots.computeIfAbsent(dir, d -> budget.slot(d + " UNet", () -> UNet2DConditionModel.load(d, backend), UNet2DConditionModel::close));
    }

    private AutoencoderKL vaeFor(int lh, int lw) {
        Slots s = slots();
        AutoencoderKL v = s.vae.get();
        io.jdiffusion.vae.VaeTiling t = s.budget.vaeTiling(v.config(), lh, lw, s.vae);
        return t == null ? v : v.withTiling(t);
    }

    /** SHA-256 (first 16 hex digits) of every weight file a run with {@code unetFolder} (null: the model's UNet) reads. */
    public synchronized Map<String, String> weightHashes(Path unetFolder) {
        return new TreeMap<>(hashes.computeIfAbsent(unetDir(unetFolder), u -> {
            Map<String, String> h = new LinkedHashMap<>();
            for (String c : List.of("text_encoder", "vae")) SdxlModel.addHashes(h, folder.resolve(c), c);
            SdxlModel.addHashes(h, u, unetFolder != null ? unetFolder.toString() : "unet");
            return Map.copyOf(h);
        }));
    }

    private void unloadAll() {
        List<DeviceBudget.Slot<?>> all = new java.util.ArrayList<>(unetSlots.values());
        all.add(textSlot);
        all.add(vaeSlot);
        budget.unload(all);
    }

    @Override
    public synchronized void close() {
        unloadAll();
        unetSlots.clear();
    }
}
