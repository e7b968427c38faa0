package io.jdiffusion.runs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.pipelines.GenerationRecord;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The rows of a dataset run, read from a CSV file (a header row, then one row per input; RFC 4180
 * quoting) or a JSON Lines file (one object per line). Columns / keys:
 *
 * <pre>
 * image            input image, relative to the manifest's folder (required)
 * mask             inpainting mask, relative to the manifest's folder (inpaint only)
 * prompt           what to generate (required)
 * negative_prompt  what to steer away from (optional)
 * seed | seeds     one seed, or several separated by ';' or spaces (JSONL: a number or an array; default 0)
 * task             inpaint (default) or outpaint
 * extend           outpaint only: L,T,R,B pixels added per side (JSONL: also an array of four)
 * overlap          outpaint only: pixels the painted area reaches into the original (default 0)
 * </pre>
 *
 * Everything is checked when the file is read (columns, values, that the files exist), so a bad
 * manifest is an error naming the row and the column before any model loads. Rows are numbered
 * from 1 (the first data row; a CSV header is row 0).
 */
public final class BatchManifest {
    /** The columns a manifest may have. */
    public static final List<String> COLUMNS = List.of("image", "mask", "prompt", "negative_prompt", "seed", "seeds", "task", "extend", "overlap");

    /** Most rows one manifest may hold (a typo'd glob pasted in, not a dataset). */
    public static final int MAX_ROWS = 100_000;

    /** What a row asks for. */
    public enum Task { INPAINT, OUTPAINT }

    /** One row: files resolved against the manifest's folder; {@code mask} null and {@code outpaint} set for outpainting. */
    public record Row(int number, Path image, Path mask, String prompt, String negativePrompt, long[] seeds, Task task,
                      GenerationRecord.Outpaint outpaint) {
        /** "row 3 (photo.png, inpaint)" — how reports name the row. */
        public String label() {
            return "row " + number + " (" + image.getFileName() + ", " + task.name().toLowerCase(Locale.ROOT) + ")";
        }
    }

    private BatchManifest() {}

    /** Reads and checks a manifest (.csv or .jsonl / .ndjson); IllegalArgumentException naming the row and column. */
    public static List<Row> read(Path manifest) {
        if (!Files.isRegularFile(manifest)) throw new IllegalArgumentException("manifest " + manifest + ": no such file");
        String name = manifest.getFileName().toString().toLowerCase(Locale.ROOT);
        boolean csv = name.endsWith(".csv");
        if (!csv && !name.endsWith(".jsonl") && !name.endsWith(".ndjson")) {
            throw new IllegalArgumentException("manifest " + manifest + ": expected a .csv or .jsonl file");
        }
        String text;
        try {
            if (Files.size(manifest) > 256L << 20) throw new IllegalArgumentException("manifest " + manifest + " is larger than 256 MiB");
            text = Files.readString(manifest, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("manifest " + manifest + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("manifest " + manifest + ": cannot read it (" + e.getMessage() + ")", e);
        }
        if (text.startsWith("\uFEFF")) text = text.substring(1); // a spreadsheet's byte order mark
        Path folder = manifest.toAbsolutePath().normalize().getParent();
        List<Map<String, String>> records;
        records = csv ? csv(manifest, text) : jsonl(manifest, text);
        if (records.isEmpty()) throw new IllegalArgumentException("manifest " + manifest + " has no rows");
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) rows.add(row(manifest, folder, i + 1, records.get(i)));
        return rows;
    }

    private static Row row(Path manifest, Path folder, int n, Map<String, String> r) {
        String where = manifest.getFileName() + " row " + n;
        for (String k : r.keySet()) {
            if (!COLUMNS.contains(k)) {
                throw new IllegalArgumentException(where + ": unknown column '" + k + "'; known: " + String.join(", ", COLUMNS));
            }
        }
        Path image = file(where, folder, "image", required(where, r, "image"));
        String prompt = required(where, r, "prompt");
        String negative = blankToNull(r.get("negative_prompt"));
        String taskText = blankToNull(r.get("task"));
        Task task;
        if (taskText == null || taskText.equalsIgnoreCase("inpaint")) task = Task.INPAINT;
        else if (taskText.equalsIgnoreCase("outpaint")) task = Task.OUTPAINT;
        else throw new IllegalArgumentException(where + ", column 'task': expected inpaint or outpaint, got '" + taskText + "'");
        if (r.get("seed") != null && r.get("seeds") != null) {
            throw new IllegalArgumentException(where + ": give 'seed' or 'seeds', not both");
        }
        String seedColumn = r.get("seeds") != null ? "seeds" : "seed";
        long[] seeds = seeds(where, seedColumn, blankToNull(r.get(seedColumn)));
        String maskText = blankToNull(r.get("mask"));
        String extend = blankToNull(r.get("extend"));
        String overlapText = blankToNull(r.get("overlap"));
        if (task == Task.INPAINT) {
            if (maskText == null) throw new IllegalArgumentException(where + ", column 'mask': inpaint needs a mask");
            if (extend != null || overlapText != null) {
                throw new IllegalArgumentException(where + ", column '" + (extend != null ? "extend" : "overlap") + "': applies to outpaint only");
            }
            return new Row(n, image, file(where, folder, "mask", maskText), prompt, negative, seeds, task, null);
        }
        if (maskText != null) throw new IllegalArgumentException(where + ", column 'mask': outpaint makes its own mask (leave it empty)");
        if (extend == null) throw new IllegalArgumentException(where + ", column 'extend': outpaint needs L,T,R,B (pixels added per side, e.g. 0,0,64,0)");
        String[] parts = extend.strip().split("[,;\\s]+");
        if (parts.length != 4) throw new IllegalArgumentException(where + ", column 'extend': expected L,T,R,B (four pixel counts), got '" + extend + "'");
        int[] e = new int[4];
        for (int i = 0; i < 4; i++) e[i] = integer(where, "extend", parts[i]);
        int overlap = overlapText == null ? 0 : integer(where, "overlap", overlapText);
        try {
            return new Row(n, image, null, prompt, negative, seeds, task, new GenerationRecord.Outpaint(e[0], e[1], e[2], e[3], overlap));
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(where + ", column 'extend': " + ex.getMessage(), ex);
        }
    }

    private static String required(String where, Map<String, String> r, String column) {
        String v = blankToNull(r.get(column));
        if (v == null) throw new IllegalArgumentException(where + ", column '" + column + "': missing (required)");
        return v;
    }

    private static Path file(String where, Path folder, String column, String value) {
        Path p;
        try {
            p = folder.resolve(value.strip()).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new IllegalArgumentException(where + ", column '" + column + "': not a file name: '" + value + "'", e);
        }
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException(where + ", column '" + column + "': no such file " + p + " (paths are relative to the manifest's folder)");
        }
        return p;
    }

    private static long[] seeds(String where, String column, String v) {
        if (v == null) return new long[] {0};
        String[] parts = v.strip().split("[;,\\s]+");
        long[] s = new long[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                s[i] = Long.parseLong(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ", column '" + column + "': expected whole numbers separated by ';' or spaces, got '" + v + "'");
            }
        }
        return s;
    }

    private static int integer(String where, String column, String v) {
        try {
            return Integer.parseInt(v.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ", column '" + column + "': expected a whole number, got '" + v + "'");
        }
    }

    private static String blankToNull(String s) { return s == null || s.isBlank() ? null : s; }

    // ---------------------------------------------------------------- CSV

    /** RFC 4180: comma-separated, fields in double quotes may hold commas, line breaks and "" for a quote. */
    static List<Map<String, String>> csv(Path manifest, String text) {
        List<List<String>> lines = csvRecords(manifest, text);
        if (lines.isEmpty()) throw new IllegalArgumentException("manifest " + manifest + " is empty (expected a header row: " + String.join(",", COLUMNS) + ")");
        List<String> header = new ArrayList<>();
        for (String h : lines.get(0)) header.add(h.strip().toLowerCase(Locale.ROOT).replace('-', '_').replace(' ', '_'));
        for (int i = 0; i < header.size(); i++) {
            if (header.get(i).isEmpty()) throw new IllegalArgumentException(manifest.getFileName() + " header: column " + (i + 1) + " has no name");
            if (header.indexOf(header.get(i)) != i) throw new IllegalArgumentException(manifest.getFileName() + " header: column '" + header.get(i) + "' appears twice");
            if (!COLUMNS.contains(header.get(i))) {
                throw new IllegalArgumentException(manifest.getFileName() + " header: unknown column '" + header.get(i) + "'; known: " + String.join(", ", COLUMNS));
            }
        }
        List<Map<String, String>> rows = new ArrayList<>();
        for (int l = 1; l < lines.size(); l++) {
            List<String> f = lines.get(l);
            if (f.size() == 1 && f.get(0).isBlank()) continue; // an empty line
            if (f.size() != header.size()) {
                throw new IllegalArgumentException(manifest.getFileName() + " row " + (rows.size() + 1) + ": " + f.size() + " fields, the header has "
                        + header.size() + " (quote a value that contains a comma)");
            }
            Map<String, String> m = new LinkedHashMap<>();
            for (int i = 0; i < f.size(); i++) m.put(header.get(i), f.get(i));
            rows.add(m);
            if (rows.size() > MAX_ROWS) throw new IllegalArgumentException("manifest " + manifest + " has more than " + MAX_ROWS + " rows");
        }
        return rows;
    }

    private static List<List<String>> csvRecords(Path manifest, String text) {
        List<List<String>> records = new ArrayList<>();
        List<String> fields = new ArrayList<>();
        StringBuilder f = new StringBuilder();
        boolean quoted = false, any = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            any = true;
            if (quoted) {
                if (c == '"' && i + 1 < text.length() && text.charAt(i + 1) == '"') {
                    f.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    f.append(c);
                }
            } else if (c == '"' && f.isEmpty()) {
                quoted = true;
            } else if (c == ',') {
                fields.add(f.toString());
                f.setLength(0);
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') i++;
                fields.add(f.toString());
                f.setLength(0);
                records.add(fields);
                fields = new ArrayList<>();
                any = false;
            } else {
                f.append(c);
            }
        }
        if (quoted) throw new IllegalArgumentException("manifest " + manifest + ": a quoted field is not closed (a '\"' is missing)");
        if (any) {
            fields.add(f.toString());
            records.add(fields);
        }
        return records;
    }

    // ---------------------------------------------------------------- JSON Lines

    private static final ObjectMapper JSON = new ObjectMapper();

    static List<Map<String, String>> jsonl(Path manifest, String text) {
        List<Map<String, String>> rows = new ArrayList<>();
        for (String line : text.split("\r?\n")) {
            if (line.isBlank()) continue;
            String where = manifest.getFileName() + " row " + (rows.size() + 1);
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalArgumentException(where + ": not a JSON object (" + e.getOriginalMessage() + ")");
            }
            if (n == null || !n.isObject()) throw new IllegalArgumentException(where + ": expected a JSON object per line");
            Map<String, String> m = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                m.put(e.getKey(), value(where, e.getKey(), e.getValue()));
            }
            rows.add(m);
            if (rows.size() > MAX_ROWS) throw new IllegalArgumentException("manifest " + manifest + " has more than " + MAX_ROWS + " rows");
        }
        return rows;
    }

    /** A JSON value as the CSV text it stands for: arrays of numbers joined by ';' (seeds) or ',' (extend). */
    private static String value(String where, String key, JsonNode v) {
        if (v.isNull()) return null;
        if (v.isTextual()) return v.textValue();
        if (v.isIntegralNumber()) return v.asText();
        if (v.isArray()) {
            List<String> parts = new ArrayList<>();
            for (JsonNode e : v) {
                if (!e.isIntegralNumber()) throw new IllegalArgumentException(where + ", key '" + key + "': expected whole numbers in the array, got " + e);
                parts.add(e.asText());
            }
            return String.join(key.equals("extend") ? "," : ";", parts);
        }
        throw new IllegalArgumentException(where + ", key '" + key + "': expected text, a whole number or an array of them, got " + v);
    }
}
