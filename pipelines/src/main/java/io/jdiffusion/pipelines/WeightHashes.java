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
 * SHA-256 of weight files, cached per (path, size, modification time) for the life of the JVM and
 * across processes in {@code weight-hashes.tsv} under jdiffusion's cache folder ($JDIFFUSION_CACHE,
 * else ~/.cache/jdiffusion), the way A1111 keeps its model hashes: reading 7 GB of an SDXL folder
 * again costs seconds of disk and a core on every run, for the same answer. A file changed in
 * place keeps neither its size nor its time in practice; {@code -Djdiffusion.weightHashCache=off}
 * turns the file off, {@code =PATH} puts it elsewhere. {@link #prefetch} computes a hash on a
 * background thread, {@link #of} waits for it or computes it.
 */
final class WeightHashes {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(WeightHashes.class);
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
            String known = DiskCache.get(key);
            if (known != null) {
                result.complete(known);
                return;
            }
            String hash = digest(f);
            DiskCache.put(key, hash);
            result.complete(hash);
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

    /**
     * The hashes earlier processes computed: a line per file, "key TAB hash", appended as each is
     * computed (one short write, so processes running together do not tear each other's lines);
     * the last line for a key wins, lines that do not parse are skipped. A cache that cannot be read
     * or written is no cache: the hash is computed, nothing fails.
     */
    static final class DiskCache {
        private static Map<String, String> known;

        private DiskCache() {}

        /** The cache file, or null when turned off. */
        static Path file() {
            String p = System.getProperty("jdiffusion.weightHashCache");
            if ("off".equals(p)) return null;
            return p != null && !p.isBlank() ? Path.of(p) : io.jdiffusion.pipelines.checkpoint.BuiltinConfigs.cacheRoot().resolve("weight-hashes.tsv");
        }

        static synchronized String get(String key) {
            if (known == null) known = read(file());
            return known.get(key);
        }

        static synchronized void put(String key, String hash) {
            if (known == null) known = read(file());
            known.put(key, hash);
            Path f = file();
            if (f == null) return;
            try {
                Files.createDirectories(f.toAbsolutePath().getParent());
                Files.writeString(f, key + "\t" + hash + "\n", java.nio.charset.StandardCharsets.UTF_8,
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException | RuntimeException e) {
                LOG.debug("weight hash cache {} not written: {}", f, e.toString());
            }
        }

        /** Forgets what was read, so the next call reads the file again (tests change the property). */
        static synchronized void reset() { known = null; }

        private static Map<String, String> read(Path f) {
            Map<String, String> m = new java.util.HashMap<>();
            if (f == null || !Files.isRegularFile(f)) return m;
            try {
                for (String line : Files.readAllLines(f, java.nio.charset.StandardCharsets.UTF_8)) {
                    int tab = line.lastIndexOf('\t');
                    if (tab > 0 && line.length() - tab - 1 == 16) m.put(line.substring(0, tab), line.substring(tab + 1));
                }
            } catch (IOException | RuntimeException e) {
                LOG.debug("weight hash cache {} not read: {}", f, e.toString());
            }
            return m;
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
