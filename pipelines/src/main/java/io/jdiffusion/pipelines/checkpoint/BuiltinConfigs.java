package io.jdiffusion.pipelines.checkpoint;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The official diffusers configs of SDXL base 1.0, refiner 1.0 and inpainting 0.1 (UNet, VAE,
 * both text encoders, scheduler, model_index), of SD 1.5 and SD 2.1 (with their inpainting and
 * 768 px v-prediction variants) and the CLIP vocabulary and merges, shipped inside
 * the library so that a single-file checkpoint is enough to run. They are laid out once as a
 * diffusers folder without weights under the user's cache ($JDIFFUSION_CACHE or
 * ~/.cache/jdiffusion), where the component loaders read them like any other folder.
 */
public final class BuiltinConfigs {
    private BuiltinConfigs() {}

    private static final String ROOT = "/io/jdiffusion/pipelines/configs/";

    /** A folder with the official configs of this SDXL layout (created on first use). */
    public static synchronized Path folder(Layout layout) {
        if (layout.sd()) return sdFolder(layout, false, false);
        return layOut(layout.configName(), tmp -> {
            for (String f : files(layout)) copy(ROOT + layout.configName() + "/" + f, tmp.resolve(f));
            for (String tok : layout.components().contains(Component.TEXT_ENCODER)
                    ? List.of("tokenizer", "tokenizer_2") : List.of("tokenizer_2")) {
                copyTokenizer(tok, tmp.resolve(tok));
            }
        });
    }

    /**
     * The official configs of Stable Diffusion 1.5 ({@link Layout#SD1}) or 2.1 ({@link Layout#SD2}:
     * 512 px, epsilon, as stable-diffusion-2-1-base), as diffusers' single-file loader picks them:
     * {@code inpaint} for a 9-channel UNet (in_channels 9, StableDiffusionInpaintPipeline), and
     * {@code vPrediction} for SD 2's 768 px v-prediction model (prediction_type v_prediction, 768 px:
     * stable-diffusion-2-1), which the file's keys cannot tell apart from the 512 px one.
     */
    public static synchronized Path sdFolder(Layout layout, boolean inpaint, boolean vPrediction) {
        if (!layout.sd()) throw new IllegalArgumentException(layout + " is not a Stable Diffusion 1/2 layout");
        if (vPrediction && layout != Layout.SD2) throw new IllegalArgumentException("v-prediction is SD 2's 768 px model; SD 1 predicts epsilon");
        String name = layout.configName() + (inpaint ? "-inpaint" : "") + (vPrediction ? "-v" : "");
        return layOut(name, tmp -> {
            String src = ROOT + layout.configName() + "/";
            for (String f : List.of("model_index.json", "unet/config.json", "vae/config.json", "scheduler/scheduler_config.json",
                    "text_encoder/config.json")) {
                copy(src + f, tmp.resolve(f));
            }
            copyTokenizer(layout == Layout.SD1 ? "tokenizer" : "tokenizer_2", tmp.resolve("tokenizer"));  // CLIP's pads with <|endoftext|>, OpenCLIP's with "!"
            if (inpaint) {
                edit(tmp.resolve("unet/config.json"), o -> o.put("in_channels", 9));
                edit(tmp.resolve("model_index.json"), o -> o.put("_class_name", "StableDiffusionInpaintPipeline"));
            }
            if (vPrediction) {
                edit(tmp.resolve("scheduler/scheduler_config.json"), o -> o.put("prediction_type", "v_prediction"));
                edit(tmp.resolve("unet/config.json"), o -> o.put("sample_size", 96));
                edit(tmp.resolve("vae/config.json"), o -> o.put("sample_size", 768));
            }
        });
    }

    private interface FolderWriter {
        void write(Path tmp) throws IOException;
    }

    /** The cached folder {@code name}, laid out by {@code writer} into a temporary folder and moved into place once. */
    private static Path layOut(String name, FolderWriter writer) {
        Path dir = cacheRoot().resolve("configs-" + io.jdiffusion.pipelines.Version.VERSION).resolve(name);
        if (Files.isRegularFile(dir.resolve(".complete"))) return dir;
        try {
            Path tmp = Files.createDirectories(dir.getParent()).resolve(name + ".tmp-" + ProcessHandle.current().pid());
            writer.write(tmp);
            Files.writeString(tmp.resolve(".complete"), "");
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // another process laid it out first; use theirs
                deleteTree(tmp);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lay out the built-in configs under " + dir, e);
        }
    }

    private static void copyTokenizer(String resourceDir, Path target) throws IOException {
        for (String f : List.of("special_tokens_map.json", "tokenizer_config.json")) copy(ROOT + resourceDir + "/" + f, target.resolve(f));
        copy(ROOT + "vocab.json", target.resolve("vocab.json"));
        copy(ROOT + "merges.txt", target.resolve("merges.txt"));
    }

    private static void edit(Path json, java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> change) throws IOException {
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        com.fasterxml.jackson.databind.node.ObjectNode o = (com.fasterxml.jackson.databind.node.ObjectNode) m.readTree(json.toFile());
        change.accept(o);
        m.writerWithDefaultPrettyPrinter().writeValue(json.toFile(), o);
    }

    private static List<String> files(Layout layout) {
        List<String> f = new ArrayList<>(List.of("model_index.json", "unet/config.json", "vae/config.json",
                "scheduler/scheduler_config.json", "text_encoder_2/config.json"));
        if (layout.components().contains(Component.TEXT_ENCODER)) f.add("text_encoder/config.json");
        return f;
    }

    private static void copy(String resource, Path target) throws IOException {
        try (InputStream in = BuiltinConfigs.class.getResourceAsStream(resource)) {
            if (in == null) throw new IOException("resource " + resource + " is missing from the jar");
            Files.createDirectories(target.getParent());
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** jdiffusion's cache folder: $JDIFFUSION_CACHE, else ~/.cache/jdiffusion. */
    public static Path cacheRoot() {
        String env = System.getenv("JDIFFUSION_CACHE");
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of(System.getProperty("user.home"), ".cache", "jdiffusion");
    }

    private static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (Path x : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(x);
        }
    }
}
