package io.jdiffusion.runs;

import io.jdiffusion.pipelines.image.OutputFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A static HTML page comparing runs side by side: a grid of the outputs laid out by any two axes
 * (the inputs by file name, seed, refiner, dilation, guidance, model family, … or any parameter),
 * filters by input (thumbnails), tag and value, every output linked to the full image, its
 * {@code run.json} and a detail view (the parameters as a tree, measurements, inputs), two picked
 * runs shown by their differences only, the same zoomed crop of every output, and a parameter
 * table that sorts, searches and picks its columns. Stars and notes ({@link RunNotes}) are shown.
 *
 * <p>One HTML file with its CSS and JS inline (the template is the resource compare-page.html); it
 * opens from disk with no server and loads nothing from the network. The files it links to are
 * copied beside it ({@link PageFiles}: {@code page.html} + {@code page_files/}), linked by relative
 * URLs, so the two can be moved, zipped or served together; with {@code embed} they are inlined.
 *
 * <p>When the page has loaded, {@code document.title} reads
 * "jdiffusion compare: N of M images shown" and {@code <body data-shown=N data-total=M data-cells=C>}
 * — what scripts/check-compare-page.sh and ComparePageTest read back from headless Chromium.
 */
public final class CompareReport {
    private CompareReport() {}

    /** Writes the page for these runs; {@code problems} (e.g. unreadable runs) are listed on it. */
    public static Path write(RunStore store, List<RunRecord> runs, List<String> problems, Path page, boolean embed) {
        return write(store, runs, problems, page, embed, false);
    }

    /** {@link #write}; {@code force} writes through a link, device or FIFO named as the page (see {@link OutputFile}). */
    public static Path write(RunStore store, List<RunRecord> runs, List<String> problems, Path page, boolean embed, boolean force) {
        if (runs.isEmpty() && (problems == null || problems.isEmpty())) throw new IllegalArgumentException("no runs to compare");
        Path out = page.toAbsolutePath().normalize();
        try {
            if (out.getParent() != null) Files.createDirectories(out.getParent());
            try (PageFiles files = PageFiles.open(store, out, embed)) {
                String html = html(store, runs, problems == null ? List.of() : problems, files, null);
                OutputFile.write(out, html.getBytes(StandardCharsets.UTF_8), force);
                files.publish();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the compare page " + out + ": " + e, e);
        }
        return out;
    }

    /**
     * The page's HTML; with a {@code token} (served by {@link RunServer}) stars and notes are editable
     * through the server's API, which accepts only requests that carry the token.
     */
    static String html(RunStore store, List<RunRecord> runs, List<String> problems, PageFiles files, String token) throws IOException {
        Map<String, Object> data = new java.util.LinkedHashMap<>(ComparePageData.of(store, runs, new java.util.ArrayList<>(problems), files));
        data.put("serve", token != null);
        if (token != null) data.put("token", token);
        String json = RunStore.JSON.writeValueAsString(data);
        // Inside <script>: no "</script>", no line separators that end a JS string.
        json = json.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
        return template().replace("/*DATA*/null", json);
    }

    private static String template() throws IOException {
        try (InputStream in = CompareReport.class.getResourceAsStream("compare-page.html")) {
            if (in == null) throw new IOException("the page template compare-page.html is missing from the jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
