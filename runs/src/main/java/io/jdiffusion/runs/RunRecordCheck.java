package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationRecordCheck;
import io.jdiffusion.pipelines.Limits;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Turns a decoded run.json into the typed record the rest of the store relies on: valid JSON can
 * still carry nulls, paths leading out of the run folder or sizes no run has, and every reader
 * (list, show, compare, verify, reproduce) would meet them separately. Required parts are checked
 * (the first problem is reported naming the field), optional maps and lists that are absent become
 * empty, so readers never see a null collection.
 */
final class RunRecordCheck {
    private RunRecordCheck() {}

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /** The record with absent optional parts made empty; throws IllegalArgumentException naming the bad field. */
    static RunRecord check(RunRecord r) {
        GenerationRecordCheck.check(r.generation());
        if (r.outputs() == null) throw new IllegalArgumentException("outputs is missing");
        for (int i = 0; i < r.outputs().size(); i++) {
            RunRecord.StoredOutput o = r.outputs().get(i);
            String at = "outputs[" + i + "]";
            if (o == null) throw new IllegalArgumentException(at + " is null");
            path(at + ".file", o.file());
            sha(at + ".sha256", o.sha256());
            // outputs pasted back into an original (padding_mask_crop) keep its size, which need not be a multiple of 8
            if (o.width() < 1 || o.width() > Limits.MAX_SIDE || o.height() < 1 || o.height() > Limits.MAX_SIDE) {
                throw new IllegalArgumentException(at + " size " + o.width() + "×" + o.height() + " is outside [1, " + Limits.MAX_SIDE + "]");
            }
        }
        Map<String, RunRecord.StoredInput> inputs = r.inputs() == null ? Map.of() : r.inputs();
        for (Map.Entry<String, RunRecord.StoredInput> e : inputs.entrySet()) {
            String at = "inputs." + e.getKey();
            if (e.getValue() == null) throw new IllegalArgumentException(at + " is null");
            if (e.getValue().file() != null) {
                path(at + ".file", e.getValue().file());
                sha(at + ".sha256", e.getValue().sha256());
            }
        }
        List<String> tags = r.tags() == null ? List.of() : r.tags();
        if (tags.contains(null)) throw new IllegalArgumentException("tags has a null entry");
        return new RunRecord(r.format(), r.id(), r.experiment(), tags, r.created(), r.params(),
                strings("prompts", r.prompts()), r.generation(), new LinkedHashMap<>(inputs), new ArrayList<>(r.outputs()), r.timings(),
                strings("environment", r.environment()), strings("weightHashes", r.weightHashes()), r.sweep(),
                metrics(r.metrics()));
    }

    /** Measures are numbers; a null entry or a non-finite value is damage. */
    private static Map<String, Double> metrics(Map<String, Double> m) {
        if (m == null) return null;
        for (Map.Entry<String, Double> e : m.entrySet()) {
            if (e.getValue() == null || !Double.isFinite(e.getValue())) throw new IllegalArgumentException("metrics." + e.getKey() + " is not a finite number");
        }
        return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(m)); // in the order written, so run.json round-trips
    }

    private static void path(String field, String relative) {
        String why = StoreFiles.checkRelative(relative);
        if (why != null) throw new IllegalArgumentException(field + " " + StoreFiles.show(relative) + " " + why);
    }

    private static void sha(String field, String sha) {
        if (sha == null || !SHA256.matcher(sha).matches()) {
            throw new IllegalArgumentException(field + " must be 64 lower-case hex digits, got " + StoreFiles.show(sha));
        }
    }

    private static Map<String, String> strings(String field, Map<String, String> m) {
        if (m == null) return Map.of();
        for (Map.Entry<String, String> e : m.entrySet()) {
            if (e.getValue() == null) throw new IllegalArgumentException(field + "." + e.getKey() + " is null");
        }
        return m;
    }
}
