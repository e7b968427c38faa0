package io.jdiffusion.pipelines.image;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metadata jdiffusion writes into its images, read from a PNG or a JPEG alike, as keyword → text:
 * {@code jdiffusion} (the generation record as JSON), {@code parameters} (the A1111 line, PNG only) and
 * {@code jdiffusion-run} (the id of the run in the run store, when the image was recorded).
 *
 * <p>A PNG keeps them as text chunks ({@link PngText}). A JPEG keeps them as COM segments: the record's
 * JSON as one comment, and the run id as a comment {@code "jdiffusion-run: <id>"}.
 */
public final class ImageMetadata {
    private ImageMetadata() {}

    /** Keyword of the run id (a PNG text chunk; in a JPEG the comment's prefix). */
    public static final String RUN_KEYWORD = "jdiffusion-run";
    private static final String RUN_COMMENT_PREFIX = RUN_KEYWORD + ": ";
    /** Largest JPEG read for its comments (they sit before the image data, so this only bounds the read). */
    private static final long MAX_JPEG_BYTES = 256L << 20;

    /** The JPEG comment that carries a run id. */
    public static String runComment(String runId) { return RUN_COMMENT_PREFIX + runId; }

    /** The metadata of a PNG or JPEG file (by its first bytes, not its name); another format is refused. */
    public static Map<String, String> read(Path image) {
        byte[] head;
        try (var in = Files.newInputStream(image)) {
            if (!Files.isRegularFile(image)) throw new IllegalArgumentException(image + " is not a regular file");
            head = in.readNBytes(8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + image + ": " + e.getMessage(), e);
        }
        if (ImageFiles.isPng(head)) return PngText.read(image);
        if (head.length >= 2 && (head[0] & 0xFF) == 0xFF && (head[1] & 0xFF) == 0xD8) return jpeg(image);
        throw new IllegalArgumentException(image + " is neither a PNG nor a JPEG file");
    }

    /** The run id an image carries, or null. */
    public static String runId(Path image) {
        String id = read(image).get(RUN_KEYWORD);
        return id == null || id.isBlank() ? null : id.strip();
    }

    private static Map<String, String> jpeg(Path image) {
        byte[] b;
        try {
            if (Files.size(image) > MAX_JPEG_BYTES) throw new IllegalArgumentException(image + " is larger than " + MAX_JPEG_BYTES + " bytes; not read");
            b = Files.readAllBytes(image);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + image + ": " + e.getMessage(), e);
        }
        return jpegComments(b);
    }

    /** The COM segments before the scan data: the run id comment under {@link #RUN_KEYWORD}, another comment (the record) under "jdiffusion". */
    static Map<String, String> jpegComments(byte[] b) {
        Map<String, String> out = new LinkedHashMap<>();
        int i = 2; // after SOI
        while (i + 4 <= b.length) {
            if ((b[i] & 0xFF) != 0xFF) break; // not a marker: damaged, stop reading
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xFF) { i++; continue; } // fill byte
            if (marker == 0xDA || marker == 0xD9) break; // start of scan / end of image: no more headers
            int len = ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
            if (len < 2 || i + 2 + len > b.length) break;
            if (marker == 0xFE) {
                String text = new String(b, i + 4, len - 2, StandardCharsets.UTF_8);
                if (text.startsWith(RUN_COMMENT_PREFIX)) out.put(RUN_KEYWORD, text.substring(RUN_COMMENT_PREFIX.length()));
                else out.putIfAbsent(PngWriter.JDIFFUSION_KEYWORD, text);
            }
            i += 2 + len;
        }
        return out;
    }
}
