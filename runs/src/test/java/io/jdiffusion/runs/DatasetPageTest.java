package io.jdiffusion.runs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compare page of the three-photo dataset (12 runs, {@link ThreePhotos}) rendered in headless
 * Chromium: what the script built is read back from the DOM — the grid cells after filtering by a
 * photo, the inputs by name, the table's order after sorting, the search, the difference of two
 * picked runs, the detail view's tree, stars and notes — from a page whose folder was moved away
 * from where it was written (relative links). Screenshots go to target/compare-page/.
 */
class DatasetPageTest {
    private static String chromium;
    private static Path page;      // the moved page
    private static Path tmp;
    private static List<RunRecord> runs;

    @BeforeAll
    static void writeAndMoveThePage(@TempDir Path dir) throws Exception {
        chromium = ComparePageTest.chromium();
        tmp = dir;
        Path storeDir = TinySweep.copyOf(ThreePhotos.store());
        RunStore store = RunStore.open(storeDir);
        runs = ThreePhotos.runs().stream().map(r -> store.get(r.id())).toList();
        RunRecord chosen = ThreePhotos.of("coffee.png").getLast();
        store.annotate(chosen.id(), true, "the chosen one: <b>not bold</b>");
        Path written = CompareReport.write(store, runs, List.of(), dir.resolve("out/dataset.html"), false);
        // the folder travels: the page and its files move, the store is gone
        Files.move(dir.resolve("out"), dir.resolve("moved"));
        TinySweep.deleteTree(storeDir);
        page = dir.resolve("moved").resolve(written.getFileName());
    }

    @Test
    void theMovedFolderHoldsEveryFileThePageLinksTo() throws Exception {
        String html = Files.readString(page);
        JsonNode data = data(html);
        int links = 0;
        for (JsonNode r : data.get("runs")) {
            List<String> targets = new ArrayList<>();
            r.get("outputs").forEach(o -> targets.add(o.asText()));
            targets.add(r.get("record").asText());
            for (String t : targets) {
                assertFalse(t.startsWith("/") || t.contains(":") || t.contains(".."), "relative link inside the folder: " + t);
                assertTrue(Files.isRegularFile(page.resolveSibling(URLDecoder.decode(t, StandardCharsets.UTF_8))), t);
                links++;
            }
        }
        for (JsonNode in : data.get("inputs")) assertTrue(Files.isRegularFile(page.resolveSibling(in.get("src").asText())), in.toString());
        assertEquals(24, links, "12 outputs + 12 run.json");
        // the copied run.json is the record itself
        RunRecord r0 = runs.getFirst();
        assertEquals(r0.id(), RunStore.JSON.readTree(page.resolveSibling("dataset_files/runs/" + r0.id() + "/run.json").toFile()).get("id").asText());
        assertFalse(Pattern.compile("(src|href)\\s*=\\s*[\"']?(https?:)?//").matcher(html).find(), "no network URLs");
        assertFalse(html.contains("\"note\":\"the chosen one: <b>"), "the note is escaped inside the script");
    }

    @Test
    void filteredToOnePhotoTheGridIsItsTwoByTwoVariants() throws Exception {
        assumeChromium();
        String dom = dom("#image=coffee.png&rows=refiner&cols=dilate");
        assertTrue(dom.contains("<title>jdiffusion compare: 4 of 12 images shown</title>"), title(dom));
        List<String[]> cells = cells(dom);
        assertEquals(4, cells.size(), "2 x 2 cells");
        Set<String> seen = new HashSet<>();
        Set<String> coffee = new HashSet<>(ThreePhotos.of("coffee.png").stream().map(RunRecord::id).toList());
        for (String[] c : cells) {
            List<String> ids = cards(c[2]);
            assertEquals(1, ids.size(), "one run in cell " + c[0] + "/" + c[1]);
            assertTrue(coffee.contains(ids.getFirst()), "a coffee.png run: " + ids);
            RunRecord r = runs.stream().filter(x -> x.id().equals(ids.getFirst())).findFirst().orElseThrow();
            // the cell is the run's own refiner × dilation
            assertEquals(r.sweep().cell().get("refiner").equals("off") ? "off" : "at 0.5", c[0]);
            assertEquals(r.sweep().cell().get("dilate"), c[1]);
            seen.add(c[0] + "/" + c[1]);
        }
        assertEquals(Set.of("off/off", "off/3x1", "at 0.5/off", "at 0.5/3x1"), seen);
        // the inputs by name and thumbnail, with the runs that used each
        for (String p : ThreePhotos.PHOTOS) assertTrue(dom.contains(p + " (4 runs)</span>"), p);
        assertTrue(dom.contains("mask.png (8 runs)</span>") && dom.contains("cat-mask.png (4 runs)</span>"), "masks by name");
        assertTrue(dom.contains("class=\"input active\" type=\"button\" data-role=\"image\" data-name=\"coffee.png\""), "the filter's input is marked");
        // every card links to its image, run.json and detail view
        assertEquals(4, ComparePageTest.count(dom, "class=\"full\""));
        assertEquals(4 + 4, ComparePageTest.count(dom, "class=\"json\""), "grid cards and table rows");
        assertTrue(dom.contains("href=\"#run=" + ThreePhotos.of("coffee.png").getFirst().id() + "\""));

        // photos as an axis: three rows, one per photo, each with its 4 runs; the mask too
        String byPhoto = dom("#rows=image&cols=");
        List<String[]> rows = cells(byPhoto);
        assertEquals(List.of("astronaut.png", "cat.png", "coffee.png"), rows.stream().map(c -> c[0]).toList());
        for (String[] c : rows) {
            assertEquals(Set.copyOf(ThreePhotos.of(c[0]).stream().map(RunRecord::id).toList()), Set.copyOf(cards(c[2])), c[0]);
        }
        assertEquals(2, cells(dom("#rows=mask&cols=refiner&image=cat.png")).size(), "the mask axis: cat's mask only");
    }

    @Test
    void theTableSortsSearchesAndPicksColumns() throws Exception {
        assumeChromium();
        String dom = dom("#sort=-metrics.seam&columns=input.image,metrics.seam,metrics.psnrUnmasked");
        List<String> order = tableRuns(dom);
        List<String> bySeam = runs.stream().sorted(Comparator.comparingDouble((RunRecord r) -> -Double.parseDouble(
                RunColumns.metric(r.metrics().get("seam"), "%.3f"))).thenComparing(RunRecord::id)).map(RunRecord::id).toList();
        assertEquals(bySeam, order, "rows by seam, largest first");
        assertTrue(dom.contains("<th data-key=\"metrics.seam\" class=\"sorted-desc\">metrics.seam</th>"), "the heading shows the order");
        List<String> headings = new ArrayList<>();
        Matcher h = Pattern.compile("<th data-key=\"([^\"]*)\"").matcher(dom);
        while (h.find()) headings.add(h.group(1));
        assertEquals(List.of("", "run", "starred", "note", "input.image", "metrics.seam", "metrics.psnrUnmasked"), headings, "the picked columns");
        for (RunRecord r : runs) {
            assertTrue(dom.contains("<td data-key=\"metrics.psnrUnmasked\">" + RunColumns.metric(r.metrics().get("psnrUnmasked"), "%.2f") + "</td>"), "PSNR shown");
        }
        String asc = dom("#sort=run");
        assertEquals(runs.stream().map(RunRecord::id).sorted().toList(), tableRuns(asc));

        String search = dom("#q=cat.png");
        assertEquals(Set.copyOf(ThreePhotos.of("cat.png").stream().map(RunRecord::id).toList()), Set.copyOf(tableRuns(search)));
        assertTrue(search.contains("4 of 12 shown runs"), "row count");
        // by default the table shows what differs: the photo, refiner, dilation, and the measurements
        String plain = dom("");
        for (String k : List.of("input.image", "input.mask", "refiner", "mask.dilate", "metrics.seam", "metrics.ssimUnmasked")) {
            assertTrue(plain.contains("<th data-key=\"" + k + "\""), k);
        }
        assertFalse(plain.contains("<th data-key=\"base.steps\""), "equal parameters are not columns by default");
        assertTrue(plain.contains("<td data-key=\"refiner\">on</td>") && plain.contains("<td data-key=\"refiner\">off</td>"),
                "the refiner reads on, not —");
    }

    @Test
    void twoPickedRunsShowOnlyTheirDifferences() throws Exception {
        assumeChromium();
        RunRecord a = cell("astronaut.png", "off", "off"), b = cell("astronaut.png", "0.5", "off");
        String dom = dom("#diff=" + a.id() + "," + b.id());
        Map<String, String[]> rows = diffRows(dom);
        assertEquals("off", rows.get("refiner")[0]);
        assertEquals("on", rows.get("refiner")[1]);
        assertEquals(TinySweep.refiner().toString(), rows.get("refiner.model")[1]);
        assertEquals("—", rows.get("refiner.model")[0]);
        for (String same : List.of("seed", "input.image", "input.mask", "prompts.prompt", "mask.dilate", "base.steps", "model.family")) {
            assertFalse(rows.containsKey(same), same + " is the same in both and not listed");
        }
        for (String k : rows.keySet()) {
            if (k.startsWith("metrics.")) continue;
            assertFalse(rows.get(k)[0].equals(rows.get(k)[1]), k + " listed but equal");
        }
        long settings = rows.keySet().stream().filter(k -> !k.startsWith("metrics.")).count();
        assertTrue(dom.contains("<div id=\"diffcount\">" + settings + " differences between " + a.id()), "count of differences");
        assertEquals(3, rows.keySet().stream().filter(k -> k.startsWith("metrics.")).count(), "the measurements of both");
    }

    @Test
    void theDetailViewShowsTheTreeMeasurementsAndInputs() throws Exception {
        assumeChromium();
        RunRecord r = cell("cat.png", "0.5", "3x1");
        String dom = dom("#run=" + r.id());
        String detail = dom.substring(dom.indexOf("<div id=\"detail\""), dom.indexOf("<h2>Outputs</h2>"));
        assertFalse(detail.contains("class=\"hidden\""), "the detail view is open");
        assertTrue(detail.contains("<li data-key=\"refiner\"><span class=\"k\">refiner</span><span>: <span class=\"v\">on</span></span><ul class=\"tree\">"
                + "<li data-key=\"refiner.model\">"), "refiner reads on, with its children: " + detail);
        assertTrue(detail.contains("<li data-key=\"mask.dilate.kernel\"><span class=\"k\">kernel</span>: <span class=\"v\">3</span>"), "dilation kernel");
        assertTrue(detail.contains("<li data-key=\"model.family\"><span class=\"k\">family</span>: <span class=\"v\">sdxl</span>"), "family");
        assertTrue(detail.contains("<td>metrics.seam</td><td>" + RunColumns.metric(r.metrics().get("seam"), "%.3f") + "</td>"), "seam");
        assertTrue(detail.contains("<td>metrics.ssimUnmasked</td><td>" + RunColumns.metric(r.metrics().get("ssimUnmasked"), "%.4f") + "</td>"), "ssim");
        assertTrue(detail.contains(" cat.png<div class=\"hint\">" + r.inputs().get("image").original()), "the input by name and path");
        assertTrue(detail.contains(" cat-mask.png"), "the mask by name");
        assertTrue(detail.contains("href=\"dataset_files/runs/" + r.id() + "/run.json\""), "run.json link");
    }

    @Test
    void starsAndNotesShowAndFilter() throws Exception {
        assumeChromium();
        RunRecord chosen = ThreePhotos.of("coffee.png").getLast();
        String dom = dom("#starred=yes");
        assertTrue(dom.contains("<title>jdiffusion compare: 1 of 12 images shown</title>"), title(dom));
        assertTrue(dom.contains("<div class=\"card starred\" data-run=\"" + chosen.id() + "\">"));
        assertTrue(dom.contains("<div class=\"note\">the chosen one: &lt;b&gt;not bold&lt;/b&gt;</div>"), "the note, as text");

        // the model family is an axis (runs without one are sdxl); shown as a screenshot for CI
        Path shot = Files.createDirectories(Path.of("target", "compare-page")).resolve("dataset.png");
        ComparePageTest.run(chromium, tmp, "--screenshot=" + shot.toAbsolutePath(), "--window-size=1400,2400", "--virtual-time-budget=10000",
                page.toUri() + "#image=coffee.png&rows=refiner&cols=dilate");
        // and the detail view with two runs compared, for the eye
        RunRecord a = cell("cat.png", "off", "off"), b = cell("cat.png", "0.5", "3x1");
        ComparePageTest.run(chromium, tmp, "--screenshot=" + shot.resolveSibling("dataset-detail.png").toAbsolutePath(), "--window-size=1400,2400",
                "--virtual-time-budget=10000", page.toUri() + "#image=cat.png&diff=" + a.id() + "," + b.id() + "&run=" + b.id());
        Image img = ImageFiles.read(shot);
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.height(); y += 3) for (int x = 0; x < img.width(); x += 3) colours.add(img.get(x, y, 0) << 16 | img.get(x, y, 1) << 8 | img.get(x, y, 2));
        assertTrue(colours.size() > 500, "the screenshot shows images: " + colours.size() + " colours");
    }

    @Test
    void theModelFamilyIsAnAxis(@TempDir Path dir) throws Exception {
        assumeChromium();
        // two families in one store: the cat runs are recorded as sd1 (params model.family), the others as sdxl
        Path storeDir = TinySweep.copyOf(ThreePhotos.store());
        for (RunRecord r : ThreePhotos.of("cat.png")) {
            Path f = storeDir.resolve("runs").resolve(r.id()).resolve("run.json");
            ObjectNode n = (ObjectNode) RunStore.JSON.readTree(f.toFile());
            ((ObjectNode) n.get("params")).putObject("model").put("family", "sd1"); // as RunParams records it: model.family
            Files.write(f, RunStore.JSON.writeValueAsBytes(n));
        }
        RunStore store = RunStore.open(storeDir);
        Path p = CompareReport.write(store, store.list().runs().stream().map(e -> store.get(e.id())).toList(), List.of(), dir.resolve("f.html"), false);
        String dom = ComparePageTest.run(chromium, dir, "--dump-dom", "--virtual-time-budget=10000", p.toUri() + "#rows=family&cols=refiner");
        List<String[]> cells = cells(dom);
        assertEquals(4, cells.size());
        for (String[] c : cells) {
            assertEquals(c[0].equals("sd1") ? 2 : 4, cards(c[2]).size(), c[0] + "/" + c[1]);
        }
        String sd1 = ComparePageTest.run(chromium, dir, "--dump-dom", "--virtual-time-budget=10000", p.toUri() + "#family=sd1");
        assertTrue(sd1.contains("<title>jdiffusion compare: 4 of 12 images shown</title>"), title(sd1));
    }

    // ------------------------------------------------------------------ helpers

    private static RunRecord cell(String photo, String refiner, String dilate) {
        return ThreePhotos.of(photo).stream().filter(r -> r.sweep().cell().get("refiner").equals(refiner)
                && r.sweep().cell().get("dilate").equals(dilate)).findFirst().orElseThrow();
    }

    private static void assumeChromium() {
        Assumptions.assumeTrue(chromium != null,
                "chromium is not on the PATH: skipping the headless render (install: apt-get update && apt-get install -y chromium)");
    }

    private static String dom(String hash) throws Exception {
        return ComparePageTest.run(chromium, tmp, "--dump-dom", "--virtual-time-budget=10000", page.toUri() + hash);
    }

    private static JsonNode data(String html) throws Exception {
        int i = html.indexOf("const DATA = ") + "const DATA = ".length();
        return RunStore.JSON.readTree(html.substring(i, html.indexOf(";\nconst RUNS", i)));
    }

    /** The grid's cells: row value, column value, inner HTML. */
    static List<String[]> cells(String dom) {
        List<String[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("<td class=\"cell\" data-row=\"([^\"]*)\" data-col=\"([^\"]*)\">(.*?)</td>(?=<td class=\"cell\"|</tr>)",
                Pattern.DOTALL).matcher(dom);
        while (m.find()) out.add(new String[] {unescape(m.group(1)), unescape(m.group(2)), m.group(3)});
        return out;
    }

    /** The run ids of the cards in a piece of the grid. */
    static List<String> cards(String html) {
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("<div class=\"card(?: starred)?\" data-run=\"([^\"]+)\">").matcher(html);
        while (m.find()) ids.add(m.group(1));
        return ids;
    }

    /** The run ids of the parameter table's rows, in order. */
    static List<String> tableRuns(String dom) {
        List<String> ids = new ArrayList<>();
        Matcher m = Pattern.compile("<tr data-run=\"([^\"]+)\">").matcher(dom);
        while (m.find()) ids.add(m.group(1));
        return ids;
    }

    /** The rows of the two-run difference: key → the two values. */
    static Map<String, String[]> diffRows(String dom) {
        Map<String, String[]> rows = new LinkedHashMap<>();
        Matcher m = Pattern.compile("<tr data-key=\"([^\"]+)\"(?: class=\"measure\")?><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>").matcher(dom);
        while (m.find()) rows.put(m.group(1), new String[] {unescape(m.group(2)), unescape(m.group(3))});
        return rows;
    }

    private static String unescape(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    }

    private static String title(String dom) {
        Matcher m = Pattern.compile("<title>(.*?)</title>").matcher(dom);
        return m.find() ? "title: " + m.group(1) : "no title";
    }
}
