package io.jdiffusion.runs;

import com.fasterxml.jackson.core.JsonProcessingException;

import io.jdiffusion.pipelines.image.OutputFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A static HTML page comparing runs side by side: a grid of the outputs laid out by two chosen
 * axes (seed, refiner, dilation, guidance, …), the same zoomed crop of every output (click an
 * image to move it), the parameters with the differing ones highlighted, and filters by tag and
 * parameter. One file with its CSS and JS inline; it opens from disk with no server and loads
 * nothing from the network. Images are linked relative to the page (so the page must stay where
 * the store can be reached) or, with {@code embed}, inlined as data URIs (a page that travels).
 *
 * <p>When the page has loaded, {@code document.title} reads
 * "jdiffusion compare: N of M images shown" and {@code <body data-shown=N data-total=M>} — what
 * scripts/check-compare-page.sh and the test read back from headless Chromium.
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
            String html = html(store, runs, problems == null ? List.of() : problems, out.getParent(), embed);
            OutputFile.write(out, html.getBytes(StandardCharsets.UTF_8), force);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the compare page " + out + ": " + e, e);
        }
        return out;
    }

    /** The axes a run can be laid out and filtered by, summarised so that "off" and numbers read naturally. */
    static Map<String, String> axes(RunRecord r) {
        Map<String, String> p = r.flatParams();
        Map<String, String> a = new LinkedHashMap<>();
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
        a.put("prompt", r.prompts() == null ? "" : r.prompts().getOrDefault("prompt", ""));
        a.put("experiment", r.experiment());
        return a;
    }

    private static String html(RunStore store, List<RunRecord> runs, List<String> problems, Path pageDir, boolean embed)
            throws IOException {
        List<Map<String, Object>> data = new ArrayList<>();
        Map<String, Map<String, Object>> inputs = new LinkedHashMap<>();
        for (RunRecord r : runs) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", r.id());
            m.put("experiment", r.experiment());
            m.put("tags", r.tags());
            m.put("created", r.created());
            m.put("axes", axes(r));
            Map<String, String> params = new LinkedHashMap<>();
            if (r.prompts() != null) r.prompts().forEach((k, v) -> params.put("prompts." + k, v));
            params.putAll(r.flatParams());
            if (r.metrics() != null) r.metrics().forEach((k, v) -> params.put("metrics." + k, String.format(java.util.Locale.ROOT, "%.4f", v)));
            if (r.environment() != null) r.environment().forEach((k, v) -> params.put("environment." + k, v));
            if (r.timings() != null) {
                params.put("time.totalMs", String.format(java.util.Locale.ROOT, "%.1f", r.timings().totalMs()));
                params.put("time.msPerStep", String.format(java.util.Locale.ROOT, "%.1f",
                        r.timings().steps().stream().mapToDouble(StepTimings.Step::ms).average().orElse(0)));
            }
            m.put("params", params);
            List<String> outs = new ArrayList<>();
            for (RunRecord.StoredOutput o : r.outputs()) outs.add(src(store, store.file(r, o.file()), pageDir, embed));
            m.put("outputs", outs);
            if (r.inputs() != null) {
                r.inputs().forEach((role, in) -> {
                    if (in.file() == null || !Files.isRegularFile(store.file(r, in.file()))) return;
                    // each distinct input once (by role and content), with the runs that used it
                    Map<String, Object> shared = inputs.computeIfAbsent(role + "/" + in.sha256(), k -> {
                        Map<String, Object> x = new LinkedHashMap<>();
                        x.put("role", role);
                        x.put("original", in.original());
                        x.put("src", src(store, store.file(r, in.file()), pageDir, embed));
                        x.put("runs", new ArrayList<String>());
                        return x;
                    });
                    @SuppressWarnings("unchecked") List<String> users = (List<String>) shared.get("runs");
                    users.add(r.id());
                });
            }
            data.add(m);
        }
        String json = RunStore.JSON.writeValueAsString(Map.of("runs", data, "inputs", inputs.values(), "problems", problems));
        // Inside <script>: no "</script>", no line separators that end a JS string.
        json = json.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
        return TEMPLATE.replace("/*DATA*/null", json);
    }

    private static String src(RunStore store, Path file, Path pageDir, boolean embed) {
        try {
            // only regular files inside the store, of bounded size (a record may name anything)
            if (embed) return "data:image/png;base64," + Base64.getEncoder().encodeToString(StoreFiles.read(store.dir(), file, StoreFiles.MAX_EMBED_BYTES));
        } catch (IOException e) {
            return "missing:" + file; // shown as a broken image and counted as failed
        }
        try {
            Path rel = pageDir.relativize(file.toAbsolutePath());
            StringBuilder sb = new StringBuilder();
            for (Path part : rel) {
                if (!sb.isEmpty()) sb.append('/');
                sb.append(java.net.URLEncoder.encode(part.toString(), StandardCharsets.UTF_8).replace("+", "%20"));
            }
            return sb.toString();
        } catch (IllegalArgumentException e) {
            return file.toAbsolutePath().toUri().toString();
        }
    }

    static String json(Object o) {
        try {
            return RunStore.JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final String TEMPLATE = """
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>jdiffusion compare: loading</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:20px 0 6px}
#controls{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start;background:#fff;border:1px solid #ddd;padding:8px;border-radius:6px}
#controls fieldset{border:1px solid #e3e3e3;border-radius:4px;padding:4px 8px;margin:0}
#controls legend{font-weight:600;font-size:12px}
table.grid{border-collapse:collapse} table.grid th{font-weight:600;padding:4px 8px;background:#eee;border:1px solid #ddd;white-space:nowrap}
table.grid td{vertical-align:top;border:1px solid #ddd;padding:4px;background:#fff}
.card{display:inline-block;margin:2px;vertical-align:top;max-width:260px}
.card .imgs{position:relative;display:inline-block}
.card img.out{display:block;width:256px;height:auto;image-rendering:auto;cursor:crosshair;background:#ccc}
.card .mark{position:absolute;border:2px solid #e0218a;pointer-events:none;box-sizing:border-box}
.card .label{font-size:11px;color:#555;word-break:break-all}
.card .label b{color:#b00}
.zooms{display:flex;flex-wrap:wrap;gap:8px}
.crop{position:relative;overflow:hidden;border:1px solid #999;background:#ccc}
.crop img{position:absolute;image-rendering:pixelated;max-width:none}
.zoomcard{font-size:11px;color:#555}
table.params{border-collapse:collapse;font-size:12px} table.params td,table.params th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
table.params tr.diff td{background:#fff3b0} table.params tr.diff td.changed{font-weight:700;color:#a00}
table.params th{background:#eee;position:sticky;top:0}
.inputs img{width:128px;border:1px solid #ccc;margin-right:6px;image-rendering:pixelated}
.problems{color:#a00}
.hidden{display:none}
</style></head>
<body data-shown="0" data-total="0">
<h1>jdiffusion compare</h1>
<div id="summary"></div>
<div class="inputs" id="inputs"></div>
<div id="controls">
 <fieldset><legend>Layout</legend>rows <select id="rows"></select> columns <select id="cols"></select></fieldset>
 <fieldset><legend>Zoom</legend>factor <select id="zoom"><option>2</option><option selected>4</option><option>8</option><option>16</option></select>
  size <select id="cropsize"><option>128</option><option selected>192</option><option>256</option></select>
  <span style="font-size:11px">click any image to move the crop</span></fieldset>
 <fieldset id="tagfilters"><legend>Tags (show runs with all checked)</legend></fieldset>
 <fieldset id="paramfilters"><legend>Parameters</legend></fieldset>
 <fieldset><legend>Table</legend><label><input type="checkbox" id="onlydiff" checked> only differing parameters</label></fieldset>
</div>
<h2>Outputs</h2><div id="grid"></div>
<h2>Same crop, every output</h2><div class="zooms" id="zooms"></div>
<h2>Parameters</h2><div id="paramtable"></div>
<div id="problems" class="problems"></div>
<script>
"use strict";
const DATA = /*DATA*/null;
const RUNS = DATA.runs;
const state = {cx: 0.5, cy: 0.5, filters: {}, tags: new Set()};
const $ = id => document.getElementById(id);
const el = (tag, attrs, ...kids) => { const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) { if (k === "class") e.className = v; else e.setAttribute(k, v); }
  for (const k of kids) e.append(k); return e; };
const total = RUNS.reduce((n, r) => n + r.outputs.length, 0);
// One <img> per output, made once and moved between layouts; counted when decoded.
let loaded = 0, failed = 0;
for (const r of RUNS) {
  r.imgs = r.outputs.map((src, i) => { const img = new Image(); img.className = "out"; img.alt = r.id + " output " + i;
    img.onload = () => { loaded++; if (loaded + failed === total) renderZooms(visible()); report(); }; img.onerror = () => { failed++; report(); }; img.src = src; return img; });
}
function shown() {
  let n = 0;
  for (const img of $("grid").querySelectorAll("img.out")) if (img.complete && img.naturalWidth > 0 && img.offsetParent !== null) n++;
  return n;
}
function report() {
  const n = shown();
  document.body.dataset.shown = n; document.body.dataset.total = total; document.body.dataset.failed = failed;
  document.title = "jdiffusion compare: " + n + " of " + total + " images shown" + (failed ? " (" + failed + " failed)" : "");
  $("summary").textContent = RUNS.length + " runs, " + total + " outputs; " + n + " shown" + (failed ? ", " + failed + " failed to load" : "");
  drawMarks();
}
// Axes worth choosing: those with more than one value among the runs.
const axisKeys = [...new Set(RUNS.flatMap(r => Object.keys(r.axes)))];
const values = k => [...new Set(RUNS.map(r => r.axes[k] ?? "—"))];
const varying = axisKeys.filter(k => values(k).length > 1);
for (const sel of [$("rows"), $("cols")]) { sel.append(el("option", {value: ""}, "(none)")); for (const k of varying) sel.append(el("option", {value: k}, k)); }
$("rows").value = varying[0] || ""; $("cols").value = varying[1] || "";
for (const t of [...new Set(RUNS.flatMap(r => r.tags || []))].sort()) {
  const cb = el("input", {type: "checkbox", value: t});
  cb.onchange = () => { cb.checked ? state.tags.add(t) : state.tags.delete(t); render(); };
  $("tagfilters").append(el("label", {}, cb, " " + t + " "));
}
for (const k of varying) {
  const sel = el("select", {"data-param": k}, el("option", {value: ""}, "(any)"));
  for (const v of values(k).sort(cmp)) sel.append(el("option", {value: v}, v));
  sel.onchange = () => { state.filters[k] = sel.value; render(); };
  $("paramfilters").append(el("label", {}, k + " ", sel, " "));
}
for (const id of ["rows", "cols", "zoom", "cropsize", "onlydiff"]) $(id).onchange = render;
// Settings from the address: #rows=seed&cols=refiner&tag=a,b&zoom=8&seed=1 (any axis name filters by value).
for (const [k, v] of new URLSearchParams(location.hash.slice(1))) {
  if (k === "rows" || k === "cols" || k === "zoom") $(k).value = v;
  else if (k === "tag") for (const t of v.split(",")) { state.tags.add(t);
    for (const cb of $("tagfilters").querySelectorAll("input")) if (cb.value === t) cb.checked = true; }
  else if (varying.includes(k)) { state.filters[k] = v; const sel = document.querySelector('select[data-param="' + k + '"]'); if (sel) sel.value = v; }
}
function cmp(a, b) { const x = parseFloat(a), y = parseFloat(b); return (!isNaN(x) && !isNaN(y)) ? x - y : String(a).localeCompare(String(b)); }
function visible() {
  return RUNS.filter(r => [...state.tags].every(t => (r.tags || []).includes(t))
      && Object.entries(state.filters).every(([k, v]) => !v || (r.axes[k] ?? "—") === v));
}
function render() {
  const runs = visible(), rk = $("rows").value, ck = $("cols").value;
  const rv = rk ? [...new Set(runs.map(r => r.axes[rk] ?? "—"))].sort(cmp) : [""];
  const cv = ck ? [...new Set(runs.map(r => r.axes[ck] ?? "—"))].sort(cmp) : [""];
  const diffAxes = varying.filter(k => k !== rk && k !== ck && new Set(runs.map(r => r.axes[k])).size > 1);
  const table = el("table", {class: "grid"});
  const head = el("tr", {}, el("th", {}, (rk || "") + (rk && ck ? " \\\\ " : "") + (ck || "")));
  for (const c of cv) head.append(el("th", {}, ck ? ck + " = " + c : "runs"));
  table.append(head);
  for (const rvv of rv) {
    const tr = el("tr", {}, el("th", {}, rk ? rk + " = " + rvv : ""));
    for (const c of cv) {
      const td = el("td");
      for (const r of runs.filter(r => (!rk || (r.axes[rk] ?? "—") === rvv) && (!ck || (r.axes[ck] ?? "—") === c))) {
        const imgs = el("div", {class: "imgs"}); r.imgs.forEach(i => imgs.append(i));
        const label = el("div", {class: "label"});
        label.innerHTML = diffAxes.map(k => esc(k) + " = <b>" + esc(r.axes[k] ?? "—") + "</b>").join(", ")
            + (diffAxes.length ? "<br>" : "") + esc(r.id) + ((r.tags || []).length ? " [" + r.tags.map(esc).join(", ") + "]" : "");
        td.append(el("div", {class: "card", "data-run": r.id}, imgs, label));
      }
      tr.append(td);
    }
    table.append(tr);
  }
  $("grid").replaceChildren(table);
  for (const r of RUNS) for (const img of r.imgs) img.onclick = ev => {
    state.cx = Math.min(1, Math.max(0, ev.offsetX / img.clientWidth)); state.cy = Math.min(1, Math.max(0, ev.offsetY / img.clientHeight));
    renderZooms(visible());
  };
  renderZooms(runs); renderParams(runs); report();
}
function renderZooms(runs) {
  const z = +$("zoom").value, box = +$("cropsize").value, zooms = $("zooms");
  zooms.replaceChildren();
  for (const r of runs) r.outputs.forEach((src, i) => {
    const ref = r.imgs[i], w = ref.naturalWidth || 1, h = ref.naturalHeight || 1, bh = Math.round(box * h / w);
    const dw = box * z, dh = bh * z;
    const left = Math.min(0, Math.max(box - dw, box / 2 - state.cx * dw)), top = Math.min(0, Math.max(bh - dh, bh / 2 - state.cy * dh));
    const img = el("img", {src: src, alt: "crop of " + r.id});
    img.style.width = dw + "px"; img.style.height = dh + "px"; img.style.left = left + "px"; img.style.top = top + "px";
    const crop = el("div", {class: "crop"}, img); crop.style.width = box + "px"; crop.style.height = bh + "px";
    const label = varying.filter(k => new Set(runs.map(x => x.axes[k])).size > 1).map(k => k + "=" + (r.axes[k] ?? "—")).join(" ");
    zooms.append(el("div", {class: "zoomcard"}, crop, el("div", {}, label || r.id), el("div", {}, label ? r.id + (r.outputs.length > 1 ? " #" + i : "") : "")));
  });
  drawMarks();
}
function drawMarks() {
  const z = +$("zoom").value;
  for (const m of document.querySelectorAll(".card .mark")) m.remove();
  for (const wrap of document.querySelectorAll(".card .imgs")) for (const img of wrap.querySelectorAll("img.out")) {
    if (!img.clientWidth) continue;
    const w = img.clientWidth / z, h = img.clientHeight / z, m = el("div", {class: "mark"});
    m.style.width = w + "px"; m.style.height = h + "px";
    m.style.left = (img.offsetLeft + Math.min(img.clientWidth - w, Math.max(0, state.cx * img.clientWidth - w / 2))) + "px";
    m.style.top = (img.offsetTop + Math.min(img.clientHeight - h, Math.max(0, state.cy * img.clientHeight - h / 2))) + "px";
    wrap.append(m);
  }
}
function renderParams(runs) {
  const keys = [...new Set(runs.flatMap(r => Object.keys(r.params)))];
  const table = el("table", {class: "params"}), head = el("tr", {}, el("th", {}, "parameter"));
  for (const r of runs) head.append(el("th", {}, r.id));
  table.append(head);
  const only = $("onlydiff").checked;
  for (const k of keys) {
    // time.* and metrics.* are measurements: always listed, never counted as a difference in settings
    const vals = runs.map(r => r.params[k] ?? "—"), measure = k.startsWith("time.") || k.startsWith("metrics."), differs = !measure && new Set(vals).size > 1;
    if (only && !differs && !measure && runs.length > 1) continue;
    const tr = el("tr", {class: differs ? "diff" : ""}, el("td", {}, k));
    vals.forEach(v => tr.append(el("td", {class: differs && v !== vals[0] ? "changed" : ""}, v)));
    table.append(tr);
  }
  $("paramtable").replaceChildren(table);
}
function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
// Inputs shared by the runs (the first run's copies).
for (const inp of DATA.inputs) $("inputs").append(el("span", {title: inp.original + " (" + inp.runs.length + " runs)"},
    inp.role + (DATA.inputs.filter(x => x.role === inp.role).length > 1 ? " (" + inp.runs.length + " runs)" : "") + ": ",
    el("img", {src: inp.src, alt: inp.role})));
if (DATA.problems.length) $("problems").append(el("h2", {}, "Runs that could not be read"), el("ul", {}, ...DATA.problems.map(p => el("li", {}, p))));
render();
window.addEventListener("load", report);
</script>
</body></html>
""";
}
