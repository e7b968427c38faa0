package io.jdiffusion.pipelines;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * SHA-256 of weight files, cached per (path, size, modification time) for the life of the JVM;
 * {@link #prefetch} computes one on a background thread, {@link #of} waits for it or computes it.
 */
final class WeightHashes {
    private static final Map<String, CompletableFuture<String>> CACHE = new ConcurrentHashMap<>();
    /** One background thread: the files are read one after another, in the order asked. */
    private static final ExecutorService BACKGROUND = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "jdiffusion-weight-hashes");
        t.setDaemon(true);
        return t;
    });

    private WeightHashes() {}

    static String of(Path f) {
        String key = key(f);
        CompletableFuture<String> mine = new CompletableFuture<>();
        CompletableFuture<String> known = CACHE.putIfAbsent(key, mine);
        if (known == null) {
            compute(key, f, mine);
            known = mine;
        }
        try {
            return known.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
    }

    /** Starts hashing {@code f} in the background unless it is known or under way. */
    static void prefetch(Path f) {
        String key = key(f);
        CompletableFuture<String> mine = new CompletableFuture<>();
        if (CACHE.putIfAbsent(key, mine) == null) BACKGROUND.execute(() -> compute(key, f, mine));
    }

    private static void compute(String key, Path f, CompletableFuture<String> result) {
        try {
            result.complete(digest(f));
        } catch (RuntimeException | Error e) { // anything: a waiting of() must not wait forever
            CACHE.remove(key, result); // not cached: a later call tries again
            result.completeExceptionally(e);
        }
    }

    private static String key(Path f) {
        try {
            return f.toAbsolutePath() + "|" + Files.size(f) + "|" + Files.getLastModifiedTime(f).toMillis();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String digest(Path f) {
        try (InputStream in = Files.newInputStream(f)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
