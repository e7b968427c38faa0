package io.jdiffusion.runs;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the compare page shows, as the JSON its script reads: per run the values of the layout axes,
 * every parameter flattened (switches such as the refiner read "on" when set), the nested tree for
 * the detail view, measurements, the star and note, and links to its outputs, inputs and run.json;
 * and each distinct input (by role and content) once, with its file name and the runs that used it.
 */
final class ComparePageData {
    private ComparePageData() {}

    /** Groups that read "off" when unset; shown "on" when set even if no run of the page has them off. */
    static final Set<String> SWITCHES = Set.of("refiner", "mask.dilate");

    /** The model family a run was made with; runs recorded before families were recorded are SDXL. */
    static final String DEFAULT_FAMILY = "sdxl";

    static Map<String, Object> of(RunStore store, List<RunRecord> runs, List<String> problems, PageFiles files) {
        Set<String> switches = new LinkedHashSet<>(SWITCHES);
        for (RunRecord r : runs) r.flatParams().forEach((k, v) -> { if ("off".equals(v)) switches.add(k); });
        Map<String, String> inputNames = inputNames(runs);
        Map<String, Map<String, Object>> inputs = new LinkedHashMap<>();
        List<Map<String, Object>> data = new ArrayList<>();
        for (RunRecord r : runs) {
            RunNotes notes = notes(store, r, problems);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.id());
            m.put("experiment", r.experiment());
            m.put("tags", r.tags());
            m.put("created", r.created());
            m.put("starred", notes.starred());
            m.put("note", notes.note());
            Map<String, String> params = params(r, switches);
            Map<String, String> roles = new LinkedHashMap<>();
            if (r.inputs() != null) {
                r.inputs().forEach((role, in) -> {
                    String key = role + "/" + (in.sha256() != null ? in.sha256() : in.pixelSha256());
                    String name = inputNames.get(key);
                    roles.put(role, key);
                    params.put("input." + role, name);
                    Map<String, Object> shared = inputs.computeIfAbsent(key, k -> {
                        Map<String, Object> x = new LinkedHashMap<>();
                        x.put("key", key);
                        x.put("role", role);
                        x.put("name", name);
                        x.put("original", in.original());
                        x.put("sha256", in.sha256());
                        x.put("src", in.file() == null ? "missing:" + role : files.link(r, in.file(), mime(in.file())));
                        x.put("runs", new ArrayList<String>());
                        return x;
                    });
                    @SuppressWarnings("unchecked") List<String> users = (List<String>) shared.get("runs");
                    users.add(r.id());
                });
            }
            m.put("inputs", roles);
            m.put("axes", axes(r, params, notes));
            m.put("params", params);
            m.put("tree", tree(r));
            List<String> outs = new ArrayList<>();
            for (RunRecord.StoredOutput o : r.outputs()) outs.add(files.link(r, o.file(), mime(o.file())));
            m.put("outputs", outs);
            m.put("record", files.link(r, RunStore.RUN_FILE, "application/json"));
            data.add(m);
        }
        Map<String, Object> page = new LinkedHashMap<>();
        page.put("runs", data);
        page.put("inputs", inputs.values());
        page.put("problems", problems);
        page.put("switches", new java.util.TreeSet<>(switches));
        return page;
    }

    private static RunNotes notes(RunStore store, RunRecord r, List<String> problems) {
        try {
            return store.notes(r.id());
        } catch (RunStoreException e) {
            problems.add(e.getMessage());
            return RunNotes.NONE;
        }
    }

    /**
     * The axes a run can be laid out and filtered by under short names, summarised so that "off" and
     * numbers read naturally; every parameter of {@code params} is an axis too, under its own key.
     */
    static Map<String, String> axes(RunRecord r, Map<String, String> params, RunNotes notes) {
        Map<String, String> p = r.flatParams();
        Map<String, String> a = new LinkedHashMap<>();
        if (params.containsKey("input.image")) a.put("image", params.get("input.image"));
        if (params.containsKey("input.mask")) a.put("mask", params.get("input.mask"));
        a.put("seed", p.get("seed"));
        a.put("refiner", "off".equals(p.get("refiner")) ? "off" : "at " + p.get("refiner.denoisingStart"));
        if (p.containsKey("mask.dilate")) a.put("dilate", "off");
        if (p.containsKey("mask.dilate.kernel")) a.put("dilate", p.get("mask.dilate.kernel") + "x" + p.get("mask.dilate.iterations"));
        a.put("guidance", p.get("base.guidance"));
        a.put("steps", p.get("base.steps"));
        a.put("scheduler", p.get("base.scheduler"));
        if (p.containsKey("base.strength")) a.put("strength", p.get("base.strength"));
        a.put("pipeline", p.get("pipeline"));
        a.put("model", p.get("base.model"));
        a.put("family", params.get("model.family"));
        a.put("prompt", r.prompts() == null ? "" : r.prompts().getOrDefault("prompt", ""));
        a.put("experiment", r.experiment());
        a.put("starred", notes.starred() ? "yes" : "no");
        return a;
    }

    /** Prompts, the model family, every parameter (switches read "on" when set), measurements, environment and timings. */
    static Map<String, String> params(RunRecord r, Set<String> switches) {
        Map<String, String> params = new LinkedHashMap<>();
        if (r.prompts() != null) r.prompts().forEach((k, v) -> params.put("prompts." + k, v));
        params.put("model.family", family(r));
        params.putAll(RunParams.flatten(r.params(), switches));
        if (r.metrics() != null) {
            params.put("metrics.psnrUnmasked", RunColumns.metric(r.metrics().get("psnrUnmasked"), "%.2f"));
            params.put("metrics.ssimUnmasked", RunColumns.metric(r.metrics().get("ssimUnmasked"), "%.4f"));
            params.put("metrics.seam", RunColumns.metric(r.metrics().get("seam"), "%.3f"));
            r.metrics().forEach((k, v) -> params.putIfAbsent("metrics." + k, String.format(Locale.ROOT, "%.4f", v)));
        }
        if (r.environment() != null) r.environment().forEach((k, v) -> params.put("environment." + k, v));
        if (r.timings() != null) {
            params.put("time.totalMs", String.format(Locale.ROOT, "%.1f", r.timings().totalMs()));
            params.put("time.msPerStep", String.format(Locale.ROOT, "%.1f",
                    r.timings().steps().stream().mapToDouble(StepTimings.Step::ms).average().orElse(0)));
        }
        return params;
    }

    /** "sdxl", "sd1", "sd2": the record's family, where it has one (a parameter or a field of the generation record). */
    static String family(RunRecord r) {
        Map<String, String> p = r.flatParams();
        for (String k : List.of("model.family", "family", "base.family")) {
            if (p.get(k) != null && !p.get(k).isBlank()) return p.get(k);
        }
        if (r.generation() != null) {
            JsonNode g = RunStore.JSON.valueToTree(r.generation());
            JsonNode f = g.get("family");
            if (f != null && f.isTextual() && !f.asText().isBlank()) return f.asText();
        }
        return DEFAULT_FAMILY;
    }

    /** The nested tree the detail view shows: prompts, then the parameters as recorded (groups keep their children). */
    private static Map<String, Object> tree(RunRecord r) {
        Map<String, Object> t = new LinkedHashMap<>();
        if (r.prompts() != null && !r.prompts().isEmpty()) t.put("prompts", r.prompts());
        t.put("model", Map.of("family", family(r)));
        t.putAll(r.params());
        return t;
    }

    /**
     * A name per distinct input (role + content): its file name, with the first hex digits of its
     * hash added where two different files of one role share a name.
     */
    static Map<String, String> inputNames(List<RunRecord> runs) {
        Map<String, String> baseName = new LinkedHashMap<>();
        Map<String, Set<String>> keysByName = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            if (r.inputs() == null) continue;
            r.inputs().forEach((role, in) -> {
                String hash = in.sha256() != null ? in.sha256() : in.pixelSha256();
                String key = role + "/" + hash;
                String name = in.original() == null ? "(in memory)" : fileName(in.original());
                baseName.putIfAbsent(key, name);
                keysByName.computeIfAbsent(role + "/" + name, k -> new LinkedHashSet<>()).add(key);
            });
        }
        Map<String, String> out = new LinkedHashMap<>();
        baseName.forEach((key, name) -> {
            String role = key.substring(0, key.indexOf('/'));
            String hash = key.substring(key.indexOf('/') + 1);
            boolean clash = keysByName.get(role + "/" + name).size() > 1;
            out.put(key, clash && !"null".equals(hash) ? name + " (" + hash.substring(0, Math.min(8, hash.length())) + ")" : name);
        });
        return out;
    }

    private static String fileName(String path) {
        try {
            Path f = Path.of(path).getFileName();
            return f == null ? path : f.toString();
        } catch (RuntimeException e) {
            return path; // not a path on this system: show it as recorded
        }
    }

    private static String mime(String file) {
        String f = file.toLowerCase(Locale.ROOT);
        if (f.endsWith(".jpg") || f.endsWith(".jpeg")) return "image/jpeg";
        if (f.endsWith(".json")) return "application/json";
        return "image/png";
    }
}
