package io.jdiffusion.runs;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compare page of the 8-run sweep: a self-contained file (no network), and, when Chromium is
 * on the PATH, rendered headless with all 8 outputs shown, filters applied from the address, and
 * a screenshot that is not blank.
 */
class ComparePageTest {

    @Test
    void pageIsStaticAndSelfContained(@TempDir Path tmp) throws Exception {
        Path page = TinySweep.copyPage(tmp, false);
        String html = Files.readString(page);
        assertFalse(Pattern.compile("(src|href)\\s*=\\s*[\"']?(https?:)?//").matcher(html).find(), "no network URLs");
        assertFalse(html.contains("<link"), "no external stylesheets");
        assertFalse(Pattern.compile("<script[^>]+src").matcher(html).find(), "no external scripts");
        // every run and every image file the page links to exists relative to the page
        for (RunRecord r : TinySweep.runs()) assertTrue(html.contains(r.id()), r.id());
        Matcher m = Pattern.compile("\"outputs\":\\[\"([^\"]+)\"\\]").matcher(html);
        int n = 0;
        while (m.find()) {
            assertTrue(m.group(1).startsWith(page.getFileName().toString().replace(".html", "_files/runs/")), "copied beside the page: " + m.group(1));
            assertTrue(Files.isRegularFile(page.getParent().resolve(m.group(1))), m.group(1));
            n++;
        }
        assertEquals(8, n);
        // embedded: images inline as data URIs, no file references
        Path embedded = TinySweep.copyPage(tmp, true);
        String e = Files.readString(embedded);
        assertEquals(8 + 2, count(e, "data:image/png;base64,"), "8 outputs + image and mask");
        assertFalse(e.contains("outputs/0.png"));
    }

    @Test
    void chromiumShowsAllEightImages(@TempDir Path tmp) throws Exception {
        String chromium = chromium();
        Assumptions.assumeTrue(chromium != null,
                "chromium is not on the PATH: skipping the headless render (install: apt-get update && apt-get install -y chromium)");
        Path page = TinySweep.copyPage(tmp, false);
        String dom = run(chromium, tmp, "--dump-dom", "--virtual-time-budget=10000", page.toUri().toString());
        assertTrue(dom.contains("<title>jdiffusion compare: 8 of 8 images shown</title>"), title(dom));
        assertTrue(dom.contains("data-shown=\"8\"") && dom.contains("data-total=\"8\"") && dom.contains("data-failed=\"0\""), "body markers");
        assertEquals(8, count(dom, "class=\"crop\""), "one zoomed crop per output");
        assertEquals(8, count(dom, "class=\"card\""), "one card per run in the grid");
        // the parameter table highlights the columns that differ (seed, refiner, dilation) and leaves out the rest
        Set<String> diffColumns = new HashSet<>();
        Matcher m = Pattern.compile("<th data-key=\"([^\"]+)\" class=\"diff ").matcher(dom);
        while (m.find()) diffColumns.add(m.group(1));
        assertTrue(diffColumns.containsAll(List.of("seed", "refiner", "mask.dilate")), diffColumns.toString());
        assertFalse(diffColumns.contains("base.steps"), diffColumns.toString());
        assertFalse(dom.contains("<th data-key=\"base.steps\""), "equal parameters hidden by default");
        assertEquals(8, count(dom, "<tr data-run=\""), "one table row per run");

        // filters from the address: one seed → 4 of the 8 shown; a tag no run has → none
        String one = run(chromium, tmp, "--dump-dom", "--virtual-time-budget=10000", page.toUri() + "#seed=1&rows=refiner&cols=dilate");
        assertTrue(one.contains("<title>jdiffusion compare: 4 of 8 images shown</title>"), title(one));
        assertEquals(4, count(one, "class=\"card\""));
        String none = run(chromium, tmp, "--dump-dom", "--virtual-time-budget=10000", page.toUri() + "#tag=no-such-tag");
        assertTrue(none.contains("<title>jdiffusion compare: 0 of 8 images shown</title>"), title(none));

        Path shot = Files.createDirectories(Path.of("target", "compare-page")).resolve("compare.png").toAbsolutePath(); // kept for CI
        run(chromium, tmp, "--screenshot=" + shot, "--window-size=1400,1800", "--virtual-time-budget=10000", page.toUri().toString());
        Image img = ImageFiles.read(shot);
        assertEquals(1400, img.width());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.height(); y += 3) for (int x = 0; x < img.width(); x += 3) {
            colours.add(img.get(x, y, 0) << 16 | img.get(x, y, 1) << 8 | img.get(x, y, 2));
        }
        assertTrue(colours.size() > 500, "the screenshot shows images, not a blank page: " + colours.size() + " colours");
    }

    static String chromium() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            for (String name : List.of("chromium", "chromium-browser")) {
                Path p = Path.of(dir, name);
                if (Files.isExecutable(p)) return p.toString();
            }
        }
        return null;
    }

    /** Runs headless Chromium with the flags that keep it off the network; returns stdout. */
    static String run(String chromium, Path tmp, String... args) throws Exception {
        Path profile = Files.createTempDirectory(tmp, "profile");
        List<String> cmd = new ArrayList<>(List.of(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "chromium", ".out");
        Path err = Files.createTempFile(tmp, "chromium", ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish in 90 s: " + Files.readString(err));
        }
        assertEquals(0, p.exitValue(), "chromium exit status: " + Files.readString(err));
        return Files.readString(out, StandardCharsets.UTF_8);
    }

    private static String title(String dom) {
        Matcher m = Pattern.compile("<title>(.*?)</title>").matcher(dom);
        return m.find() ? "title: " + m.group(1) : "no title in: " + dom.substring(0, Math.min(500, dom.length()));
    }

    static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) n++;
        return n;
    }
}
