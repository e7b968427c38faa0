package io.jdiffusion.runs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * File access of the run store that a damaged or hostile record cannot turn against the machine:
 * every path a record names is resolved inside its run folder (no absolute paths, no "..", no
 * symbolic link leading out of the store), only regular files are read, and their size is checked
 * before anything is allocated.
 */
final class StoreFiles {
    private StoreFiles() {}

    /** Largest run.json read (records are a few KiB). */
    static final long MAX_RECORD_BYTES = 16L << 20;
    /** Largest stored file hashed or read whole: a 16384² RGBA PNG with room to spare. */
    static final long MAX_STORED_FILE_BYTES = (1L << 30) + (64L << 20);
    /** Largest image inlined into a compare page (base64 in one HTML string). */
    static final long MAX_EMBED_BYTES = 128L << 20;
    /** Staging folders of runs whose writer died are removed after this long. */
    static final Duration STALE_STAGING = Duration.ofDays(1);

    /** Whether a relative name from a record stays inside its run folder by its spelling (checked before any resolution). */
    static String checkRelative(String relative) {
        if (relative == null) return "is missing (null)";
        if (relative.isEmpty()) return "is empty";
        if (relative.indexOf('\0') >= 0 || relative.indexOf('\\') >= 0) return "contains a NUL or backslash";
        if (relative.startsWith("/")) return "is an absolute path";
        for (String part : relative.split("/", -1)) {
            if (part.equals("..")) return "leads out of the run folder ('..')";
        }
        return null;
    }

    /** {@code runDir/relative}, refused unless it stays inside {@code runDir} by its spelling. */
    static Path resolve(Path runDir, String relative, String runId) {
        String why = checkRelative(relative);
        Path p = why == null ? runDir.resolve(relative).normalize() : null;
        if (p == null || !p.startsWith(runDir)) {
            throw new RunStoreException(runId, "run " + runId + " is damaged: the file " + show(relative)
                    + " named in its record " + (why != null ? why : "lies outside its folder") + "; refused");
        }
        return p;
    }

    /**
     * Checks that {@code p} is a regular file whose real location (links followed) lies inside the
     * store, of at most {@code max} bytes; returns its size. Throws IOException saying what is wrong.
     */
    static long checkReadable(Path store, Path p, long max) throws IOException {
        Path real;
        try {
            real = p.toRealPath();
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(p.toString(), null, "missing");
        }
        if (!real.startsWith(store.toRealPath())) throw new IOException(p + " leads outside the store (to " + real + "); refused");
        BasicFileAttributes a = Files.readAttributes(real, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) throw new IOException(p + " is not a regular file; refused");
        if (a.size() > max) throw new IOException(p + " has " + a.size() + " bytes, more than the " + max + " allowed");
        return a.size();
    }

    /** The bytes of a stored file, after {@link #checkReadable}; never more than {@code max}. */
    static byte[] read(Path store, Path p, long max) throws IOException {
        checkReadable(store, p, max);
        try (InputStream in = Files.newInputStream(p)) {
            byte[] b = in.readNBytes((int) Math.min(max, Integer.MAX_VALUE - 8));
            if (in.read() >= 0) throw new IOException(p + " grew beyond " + max + " bytes while read; refused");
            return b;
        }
    }

    /** The SHA-256 of a stored file, streamed (nothing the size of the file is allocated), after {@link #checkReadable}. */
    static String sha256(Path store, Path p) throws IOException {
        checkReadable(store, p, MAX_STORED_FILE_BYTES);
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long total = 0;
        try (InputStream in = Files.newInputStream(p)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                total += n;
                if (total > MAX_STORED_FILE_BYTES) throw new IOException(p + " grew beyond " + MAX_STORED_FILE_BYTES + " bytes while read; refused");
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * Creates a new folder with a random name in {@code parent}. Unlike {@link Files#createTempDirectory}
     * (always 0700) the permissions follow the umask, so a published run folder is as readable as any
     * folder the user creates (a team's web server can serve the store).
     */
    static Path createUniqueDir(Path parent, String prefix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path candidate = parent.resolve(prefix + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1));
            try {
                return Files.createDirectory(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    /**
     * Removes what killed writers left in {@code tmp/}: entries last modified more than {@link #STALE_STAGING}
     * ago. Links are removed, never followed. Failures are ignored: a leftover is harmless, nothing reads tmp/.
     */
    static void removeStale(Path tmp, Instant now) {
        FileTime cutoff = FileTime.from(now.minus(STALE_STAGING));
        try (Stream<Path> s = Files.list(tmp)) {
            for (Path p : s.toList()) {
                try {
                    FileTime t = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                    if (t.compareTo(cutoff) < 0) deleteTree(p);
                } catch (IOException ignored) {
                    // another process may be removing it too
                }
            }
        } catch (IOException ignored) {
            // tmp/ unreadable: writing a run will report it
        }
    }

    static void deleteTree(Path root) throws IOException {
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** A name from a record for a message: quoted, control characters escaped, at most 200 characters. */
    static String show(String s) {
        if (s == null) return "null";
        String e = io.jdiffusion.tensor.ErrorText.escape(s);
        return "'" + (e.length() > 200 ? e.substring(0, 200) + "…" : e) + "'";
    }
}
