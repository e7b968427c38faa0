package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageMetadata;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.OutputFile;
import io.jdiffusion.pipelines.image.PngWriter;
import io.jdiffusion.runs.RunStore;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Writes a run's images as PNGs carrying the generation record. */
final class Outputs {
    private Outputs() {}

    static List<Path> write(GenerationResult r, Path output) {
        return write(r, output, false);
    }

    /** Writes the images; {@code force} writes through a link, device or FIFO named as output (see {@link OutputFile}). */
    static List<Path> write(GenerationResult r, Path output, boolean force) {
        return write(r.images(), r.record(), null, output, force);
    }

    /**
     * Writes images with a record (and, when recorded, the run id: the same PNG text as the run store's
     * copies, so the bytes match; a JPEG carries both as comments, see {@link ImageMetadata}).
     */
    static List<Path> write(List<Image> images, GenerationRecord record, String runId, Path output, boolean force) {
        OutputFile.checkImageName(output, "--output");
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) paths.add(images.size() == 1 ? output : numbered(output, i + 1));
        for (Path p : paths) OutputFile.check(p, force, "--output"); // all of them before the first is written
        Map<String, String> text = RunStore.pngText(record, runId);
        List<String> comments = runId == null ? List.of(record.toJson()) : List.of(record.toJson(), ImageMetadata.runComment(runId));
        // Encode everything first so that a failure leaves no file; each file is then moved into place atomically.
        List<byte[]> encoded = images.stream().map(img -> isJpeg(output)
                ? ImageFiles.encodeJpeg(img, 95, comments) : PngWriter.encode(img, text)).toList();
        for (int i = 0; i < paths.size(); i++) OutputFile.write(paths.get(i), encoded.get(i), force);
        return paths;
    }

    /** JPEG output (quality 95, the record as a JPEG comment) for .jpg/.jpeg names; PNG otherwise. */
    static boolean isJpeg(Path p) {
        String n = p.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    static Path numbered(Path p, int i) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        String n = dot < 0 ? name + "-" + i : name.substring(0, dot) + "-" + i + name.substring(dot);
        return p.resolveSibling(n);
    }
}
