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
 * both text encoders, scheduler, model_index) and the CLIP vocabulary and merges, shipped inside
 * the library so that a single-file checkpoint is enough to run. They are laid out once as a
 * diffusers folder without weights under the user's cache ($JDIFFUSION_CACHE or
 * ~/.cache/jdiffusion), where the component loaders read them like any other folder.
 */
public final class BuiltinConfigs {
    private BuiltinConfigs() {}

    private static final String ROOT = "/io/jdiffusion/pipelines/configs/";

    /** A folder with the official configs of this layout (created on first use). */
    public static synchronized Path folder(Layout layout) {
        Path dir = cacheRoot().resolve("configs-" + io.jdiffusion.pipelines.Version.VERSION).resolve(layout.configName());
        if (Files.isRegularFile(dir.resolve(".complete"))) return dir;
        try {
            Path tmp = Files.createDirectories(dir.getParent()).resolve(layout.configName() + ".tmp-" + ProcessHandle.current().pid());
            for (String f : files(layout)) copy(ROOT + layout.configName() + "/" + f, tmp.resolve(f));
            for (String tok : layout.components().contains(Component.TEXT_ENCODER)
                    ? List.of("tokenizer", "tokenizer_2") : List.of("tokenizer_2")) {
                for (String f : List.of("special_tokens_map.json", "tokenizer_config.json")) copy(ROOT + tok + "/" + f, tmp.resolve(tok).resolve(f));
                copy(ROOT + "vocab.json", tmp.resolve(tok).resolve("vocab.json"));
                copy(ROOT + "merges.txt", tmp.resolve(tok).resolve("merges.txt"));
            }
            Files.writeString(tmp.resolve(".complete"), "");
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException raced) {
                // another process laid it out first; use theirs
                deleteTree(tmp);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lay out the built-in SDXL configs under " + dir, e);
        }
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

    static Path cacheRoot() {
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
