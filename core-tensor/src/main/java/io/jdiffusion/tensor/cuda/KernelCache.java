package io.jdiffusion.tensor.cuda;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Compiled kernels on disk, so NVRTC runs once per source version, architecture and compiler:
 * files {@code <name>-<sha256>.cubin|.ptx} under $JDIFFUSION_KERNEL_CACHE (or the system property
 * {@code jdiffusion.kernelCache}), else ~/.cache/jdiffusion/kernels. The key hashes the source,
 * its headers, the options, the target architecture and the NVRTC version. A cache that cannot
 * be written only costs a recompilation next time (logged once per file).
 */
final class KernelCache {
    private static final Logger LOG = LoggerFactory.getLogger(KernelCache.class);

    private final Path dir;

    public KernelCache(Path dir) { this.dir = dir; }

    public Path dir() { return dir; }

    public static Path defaultDir() {
        String p = System.getProperty("jdiffusion.kernelCache");
        if (p == null || p.isBlank()) p = System.getenv("JDIFFUSION_KERNEL_CACHE");
        if (p != null && !p.isBlank()) return Path.of(p);
        return Path.of(System.getProperty("user.home"), ".cache", "jdiffusion", "kernels");
    }

    /** Hex SHA-256 over everything that determines the compiled image. */
    public static String key(String source, Map<String, String> headers, String arch, String nvrtcVersion, List<String> options) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            update(md, "source", source);
            for (var e : new TreeMap<>(headers).entrySet()) {
                update(md, "header", e.getKey());
                update(md, "text", e.getValue());
            }
            update(md, "arch", arch);
            update(md, "nvrtc", nvrtcVersion);
            for (String o : options) update(md, "option", o);
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static void update(MessageDigest md, String tag, String value) {
        // length-prefixed fields: no two different inputs hash the same byte stream
        byte[] b = value.getBytes(StandardCharsets.UTF_8);
        md.update(tag.getBytes(StandardCharsets.UTF_8));
        md.update(new byte[] {(byte) (b.length >>> 24), (byte) (b.length >>> 16), (byte) (b.length >>> 8), (byte) b.length});
        md.update(b);
    }

    Path file(String name, String key, String suffix) { return dir.resolve(name + "-" + key + "." + suffix); }

    /** The cached image for this key, as (bytes, isCubin), if one was stored. */
    public Optional<Nvrtc.Image> load(String name, String key) {
        for (String suffix : new String[] {"cubin", "ptx"}) {
            Path f = file(name, key, suffix);
            if (Files.isRegularFile(f)) {
                try {
                    byte[] b = Files.readAllBytes(f);
                    if (b.length > 0) return Optional.of(new Nvrtc.Image(b, suffix.equals("cubin"), "cached"));
                } catch (IOException e) {
                    LOG.warn("cannot read cached kernel {}: {}", f, e.toString());
                }
            }
        }
        return Optional.empty();
    }

    /** Stores an image; written to a temporary file first and moved, so readers never see half a file. */
    public void store(String name, String key, Nvrtc.Image image) {
        Path f = file(name, key, image.isCubin() ? "cubin" : "ptx");
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, name, ".tmp");
            Files.write(tmp, image.bytes());
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            LOG.warn("cannot write kernel cache {}: {} (kernels will be recompiled next run)", f, e.toString());
        }
    }
}
