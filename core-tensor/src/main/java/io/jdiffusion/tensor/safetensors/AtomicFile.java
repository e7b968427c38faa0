package io.jdiffusion.tensor.safetensors;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * A file written whole or not at all (safetensors files here, images and pages in the pipelines):
 * the content goes to a temporary file in the target's folder, is forced to disk, and the temporary
 * file is renamed over the target. A killed process leaves the old file or the new one, never half.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Writes the content into an open channel. */
    public interface Content {
        void writeTo(FileChannel ch) throws IOException;
    }

    /**
     * Writes {@code content} into {@code tmp} (an empty file the caller created in {@code target}'s
     * folder, with the permissions it wants), then renames it over {@code target}; on any failure
     * {@code tmp} is deleted and the failure rethrown.
     */
    public static void replace(Path tmp, Path target, Content content) throws IOException {
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                content.writeTo(ch);
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                // same folder, so this is still a rename on every common file system
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            moved = true;
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed; that failure is the one worth reporting
                }
            }
        }
    }
}
