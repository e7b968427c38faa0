package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.ImageMetadata;

import java.nio.file.Files;
import java.nio.file.Path;

/** A RUN argument that may also be an image file: the run id the PNG or JPEG carries. */
final class ImageRuns {
    private ImageRuns() {}

    /** {@code arg} itself when it names no file; else the run id inside the image, or a usage error saying it has none. */
    static String runId(String arg) {
        Path p;
        try {
            p = Path.of(arg);
        } catch (java.nio.file.InvalidPathException e) {
            return arg;
        }
        if (!Files.isRegularFile(p)) return arg;
        String id;
        try {
            id = ImageMetadata.runId(p);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("RUN|IMAGE: " + e.getMessage(), e);
        }
        if (id == null) {
            throw new IllegalArgumentException("RUN|IMAGE: " + p + " carries no run id (written with --no-record, or before images carried one)");
        }
        return id;
    }
}
