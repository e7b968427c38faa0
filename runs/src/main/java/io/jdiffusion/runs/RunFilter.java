package io.jdiffusion.runs;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Selects runs by experiment, tags and {@code KEY=VALUE} conditions, matching what the user sees:
 * a KEY is a column of `runs list` ({@link RunColumns}: {@code refiner=0.8}, {@code dilate=15x2},
 * {@code mask.dilate=off}, {@code guidance=7.5}) or a flattened parameter as `runs show` lists it
 * ({@code base.guidance}, {@code mask.dilate.kernel}). Values that both read as numbers compare as
 * numbers ({@code 7.5} = {@code 7.50}, {@code 8} = {@code 8.0}); other values compare as text,
 * ignoring case. {@code refiner=on} matches every run with the refiner; {@code starred=1} (or yes/true) the starred runs.
 *
 * <p>A key no run of the store has, or an experiment no run is filed under, is an error naming the
 * known ones: a typo must not look like "no runs match".
 */
public final class RunFilter {
    private final String experiment;
    private final List<String> tags;
    private final Map<String, String> where;

    /** @param where conditions as typed, "KEY=VALUE" */
    public RunFilter(String experiment, List<String> tags, Collection<String> where) {
        this.experiment = experiment;
        this.tags = tags == null ? List.of() : List.copyOf(tags);
        this.where = new LinkedHashMap<>();
        if (where != null) {
            for (String w : where) {
                int eq = w.indexOf('=');
                if (eq <= 0) throw new IllegalArgumentException("--where: expected KEY=VALUE, got '" + w + "'");
                this.where.put(w.substring(0, eq).strip(), w.substring(eq + 1).strip());
            }
        }
    }

    /** The runs that match, in listing order; an unknown key or experiment throws {@link IllegalArgumentException}. */
    public List<RunStore.Entry> select(List<RunStore.Entry> runs) {
        if (experiment != null) {
            Set<String> known = new TreeSet<>();
            for (RunStore.Entry e : runs) if (e.experiment() != null) known.add(e.experiment());
            if (!known.contains(experiment)) {
                throw new IllegalArgumentException("--experiment: no run is filed under '" + experiment + "'; experiments in the store: "
                        + (known.isEmpty() ? "none (the store is empty)" : String.join(", ", known)));
            }
        }
        Set<String> keys = knownKeys(runs);
        for (String k : where.keySet()) {
            if (!keys.contains(k)) {
                throw new IllegalArgumentException("--where: unknown key '" + k + "'; known keys: " + String.join(", ", keys));
            }
        }
        List<RunStore.Entry> out = new ArrayList<>();
        for (RunStore.Entry e : runs) {
            if (experiment != null && !experiment.equals(e.experiment())) continue;
            if (!tags.isEmpty() && (e.tags() == null || !e.tags().containsAll(tags))) continue;
            if (matches(e)) out.add(e);
        }
        return out;
    }

    /** Column names, their aliases, and every flattened parameter key of the runs. */
    static Set<String> knownKeys(List<RunStore.Entry> runs) {
        Set<String> keys = new TreeSet<>();
        for (RunStore.Entry e : runs) {
            keys.addAll(RunColumns.of(e).keySet());
            if (e.params() != null) keys.addAll(e.params().keySet());
        }
        RunColumns.ALIASES.values().forEach(keys::addAll);
        return keys;
    }

    private boolean matches(RunStore.Entry e) {
        Map<String, String> columns = RunColumns.of(e);
        for (var c : where.entrySet()) {
            String v = value(e, columns, c.getKey());
            if (v == null || !same(c.getKey(), v, c.getValue())) return false;
        }
        return true;
    }

    private static String value(RunStore.Entry e, Map<String, String> columns, String key) {
        if (columns.containsKey(key)) return columns.get(key);
        for (var a : RunColumns.ALIASES.entrySet()) if (a.getValue().contains(key)) return columns.get(a.getKey());
        return e.params() == null ? null : e.params().get(key);
    }

    static boolean same(String key, String shown, String wanted) {
        if (key.equals("refiner") && wanted.equalsIgnoreCase("on")) return !shown.equals("off");
        if (key.equals("starred")) wanted = switch (wanted.toLowerCase(Locale.ROOT)) {
            case "yes", "true", "on" -> "1";
            case "no", "false", "off" -> "0";
            default -> wanted;
        };
        Double a = number(shown), b = number(wanted);
        if (a != null && b != null) return a.doubleValue() == b.doubleValue();
        return shown.toLowerCase(Locale.ROOT).equals(wanted.toLowerCase(Locale.ROOT));
    }

    private static Double number(String s) {
        if (s == null || s.isEmpty() || !s.matches("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?")) return null;
        return Double.parseDouble(s);
    }
}
