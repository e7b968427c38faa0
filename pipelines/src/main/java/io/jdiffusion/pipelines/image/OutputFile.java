package io.jdiffusion.pipelines.image;

import io.jdiffusion.tensor.safetensors.AtomicFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes an output file the user named (an image, a compare page) without ever replacing something
 * that is not a regular file.
 *
 * <p>A missing target or a regular file is written atomically: the bytes go to a temporary file in
 * the same folder (created with the process's umask, so the result is as readable as any file the
 * user creates), are forced to disk, and the temporary file is renamed over the target. A killed
 * process leaves either the old file or the new one, never half of one.
 *
 * <p>Any other target — a symbolic link, a device such as {@code /dev/null}, a FIFO, a socket — is
 * refused (an {@link IllegalArgumentException}, exit status 2 on the command line) unless
 * {@code force} is set: then the bytes are written <em>through</em> it (the link's target, the
 * device or the pipe receives them; nothing is renamed, so the write is not atomic). A folder is
 * refused even with {@code force}. Renaming over such targets used to replace them: run as root,
 * {@code -o /dev/null} turned the system's {@code /dev/null} into a regular file.
 */
public final class OutputFile {
    private OutputFile() {}

    /** Extensions that name image formats we do not write; a name with one is refused rather than given PNG bytes. */
    private static final Set<String> OTHER_FORMATS = Set.of("gif", "webp", "bmp", "tif", "tiff", "avif", "heic", "heif",
            "jxl", "jp2", "ico", "svg", "ppm", "pgm", "tga", "exr", "psd");

    /**
     * Checks that {@code path} can be written: its folder exists and the target is missing, a regular
     * file, or (with {@code force}) something to write through. {@code option} names the option in
     * the message. Called before any work so a bad target fails fast.
     */
    public static void check(Path path, boolean force, String option) {
        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(option + ": folder " + dir + " does not exist");
        }
        kind(target, force, option);
    }

    /**
     * Checks that an image output's name says PNG or JPEG: .png, .jpg, .jpeg or no extension (PNG);
     * a name ending in another image format (.gif, .webp, …) is refused instead of silently
     * receiving PNG bytes.
     */
    public static void checkImageName(Path path, String option) {
        String ext = extension(path);
        if (ext != null && OTHER_FORMATS.contains(ext)) {
            throw new IllegalArgumentException(option + ": cannot write ." + ext + " files (" + path.getFileName()
                    + "); use a .png name (the generation record is embedded) or .jpg/.jpeg");
        }
    }

    /** Writes the bytes as the class comment describes. */
    public static void write(Path path, byte[] bytes, boolean force) {
        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new UncheckedIOException(new IOException("cannot write " + path + ": folder " + dir + " does not exist"));
        }
        if (kind(target, force, "output") == Kind.WRITE_THROUGH) {
            writeThrough(path, target, bytes);
            return;
        }
        try {
            AtomicFile.replace(createUnique(dir, "." + target.getFileName() + ".", ".tmp"), target, ch -> {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path + ": " + e, e);
        }
    }

    /**
     * Creates a new empty file with a random name in {@code dir}. Unlike {@link Files#createTempFile}
     * (always 0600) the permissions follow the umask, like any file the user creates.
     */
    public static Path createUnique(Path dir, String prefix, String suffix) throws IOException {
        for (int attempt = 0; ; attempt++) {
            Path candidate = dir.resolve(prefix + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + suffix);
            try {
                return Files.createFile(candidate);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    private enum Kind { REPLACE, WRITE_THROUGH }

    private static Kind kind(Path target, boolean force, String option) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(target, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return Kind.REPLACE;
        } catch (IOException e) {
            throw new IllegalArgumentException(option + ": cannot inspect " + target + " (" + e.getMessage() + ")");
        }
        if (a.isRegularFile()) return Kind.REPLACE;
        if (a.isDirectory() || (a.isSymbolicLink() && Files.isDirectory(target))) {
            throw new IllegalArgumentException(option + ": " + target + " is a folder; name a file");
        }
        String what = a.isSymbolicLink() ? "a symbolic link" : "a device, FIFO or socket";
        if (!force) {
            throw new IllegalArgumentException(option + ": " + target + " is " + what + ", not a regular file; it is not replaced."
                    + " Pass --force to write through it, or name a regular file");
        }
        return Kind.WRITE_THROUGH;
    }

    private static void writeThrough(Path path, Path target, byte[] bytes) {
        // No CREATE for devices and pipes (they exist); a dangling link's target is created, as the user forced it.
        try (FileChannel ch = FileChannel.open(target, StandardOpenOption.WRITE, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) ch.write(buf);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path + ": " + e, e);
        }
    }

    private static String extension(Path p) {
        Path name = p.getFileName();
        if (name == null) return null;
        String n = name.toString();
        int dot = n.lastIndexOf('.');
        return dot <= 0 ? null : n.substring(dot + 1).toLowerCase(Locale.ROOT);
    }
}
