package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.image.A1111Parameters;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.OutputFile;
import io.jdiffusion.pipelines.image.PngWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes a run's images as PNGs carrying the generation record. */
final class Outputs {
    private Outputs() {}

    /** The PNG text chunks of a record: JSON under "jdiffusion", the A1111-style line under "parameters". */
    static Map<String, String> textChunks(GenerationResult r) {
        Map<String, String> text = new LinkedHashMap<>();
        text.put(A1111Parameters.KEYWORD, r.record().toParameters());
        text.put(PngWriter.JDIFFUSION_KEYWORD, r.record().toJson());
        return text;
    }

    static List<Path> write(GenerationResult r, Path output) {
        return write(r, output, false);
    }

    /** Writes the images; {@code force} writes through a link, device or FIFO named as output (see {@link OutputFile}). */
    static List<Path> write(GenerationResult r, Path output, boolean force) {
        OutputFile.checkImageName(output, "--output");
        List<Image> images = r.images();
        List<Path> paths = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) paths.add(images.size() == 1 ? output : numbered(output, i + 1));
        for (Path p : paths) OutputFile.check(p, force, "--output"); // all of them before the first is written
        Map<String, String> text = textChunks(r);
        // Encode everything first so that a failure leaves no file; each file is then moved into place atomically.
        List<byte[]> encoded = images.stream().map(img -> isJpeg(output)
                ? ImageFiles.encodeJpeg(img, 95, r.record().toJson()) : PngWriter.encode(img, text)).toList();
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
