package io.jdiffusion.pipelines;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Turns what a user names a model by into a folder: a path as is, or a Hugging Face id
 * ("stabilityai/stable-diffusion-xl-base-1.0") resolved in the local HF cache
 * ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) the way huggingface_hub lays
 * it out: models--org--name/snapshots/&lt;revision&gt;, the revision read from refs/main. Nothing is
 * downloaded: weights already fetched for diffusers are used as they are.
 */
final class ModelLocator {
    private ModelLocator() {}

    public static Path resolve(String nameOrPath) { return resolve(nameOrPath, hubCache()); }

    static Path resolve(String nameOrPath, Path hubCache) {
        Path p = Path.of(nameOrPath);
        if (Files.exists(p)) return p.toAbsolutePath().normalize();
        if (!nameOrPath.matches("[A-Za-z0-9][\\w.-]*/[\\w.-]+")) {
            throw new IllegalArgumentException("model '" + nameOrPath + "': no such file or folder, and not a Hugging Face id (org/name)");
        }
        Path repo = hubCache.resolve("models--" + nameOrPath.replace("/", "--"));
        Path snapshots = repo.resolve("snapshots");
        if (!Files.isDirectory(snapshots)) {
            throw new IllegalArgumentException("model '" + nameOrPath + "' is not in the local Hugging Face cache (looked for "
                    + snapshots + "); download it with huggingface-cli or give a folder path");
        }
        try {
            Path ref = repo.resolve("refs/main");
            if (Files.isRegularFile(ref)) {
                Path snap = snapshots.resolve(Files.readString(ref).trim());
                if (Files.isDirectory(snap)) return snap;
            }
            try (Stream<Path> s = Files.list(snapshots)) {
                List<Path> all = s.filter(Files::isDirectory)
                        .sorted(Comparator.comparing(ModelLocator::lastModified).reversed()).toList();
                if (all.isEmpty()) throw new IllegalArgumentException("model '" + nameOrPath + "': " + snapshots + " holds no snapshot");
                return all.get(0);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path hubCache() {
        String cache = System.getenv("HF_HUB_CACHE");
        if (cache != null && !cache.isBlank()) return Path.of(cache);
        String home = System.getenv("HF_HOME");
        if (home != null && !home.isBlank()) return Path.of(home, "hub");
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub");
    }

    private static long lastModified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return 0;
        }
    }
}
