package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationPipeline;
import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.Img2ImgPipeline;
import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.pipelines.StepListener;
import io.jdiffusion.pipelines.Text2ImagePipeline;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs every cell of a parameter grid — seeds × refiner on/off (or several handoff fractions) ×
 * mask dilation on/off × guidance scales × schedulers — on models loaded once, and records each
 * cell as a run of one experiment (an SD 1/2 model, {@link #of}, sweeps the same axes but the refiner's). Cells run in order (the last axis varies fastest).
 *
 * <pre>{@code
 * try (SdxlModel base = SdxlModel.load("sdxl-base", null, backend);
 *      SdxlModel refiner = SdxlModel.load("sdxl-refiner", null, backend)) {
 *     List<RunRecord> runs = Sweep.inpaint(base, Path.of("photo.png"), Path.of("mask.png"))
 *             .refinerModel(refiner).prompt("a red vase").steps(30)
 *             .seeds(1, 2).refinerFractions(null, 0.8).dilations(null, new Sweep.Dilation(15, 2))
 *             .run(RunStore.open(Path.of("jdiffusion-runs")), "vase", List.of("draft"));
 * }
 * }</pre>
 */
public final class Sweep {
    /** Which pipeline every cell runs. */
    public enum Kind { TXT2IMG, IMG2IMG, INPAINT, OUTPAINT }

    /** Told when each cell starts and ends (e.g. "cell k/N" and the seconds a cell took). */
    public interface CellListener {
        CellListener NONE = new CellListener() {};

        /** Cell {@code k} of {@code n} (1-based) is about to run; {@code label} names its row and axes. */
        default void started(int k, int n, String label) {}

        /** Cell {@code k} of {@code n} ran in {@code seconds} (model loading on first use included). */
        default void finished(int k, int n, String label, double seconds) {}
    }

    /** cv2.dilate with a kernel × kernel square, {@code iterations} times. */
    public record Dilation(int kernel, int iterations) {
        public Dilation {
            if (kernel < 1) throw new IllegalArgumentException("dilation kernel must be >= 1, got " + kernel);
            if (iterations < 0) throw new IllegalArgumentException("dilation iterations must be >= 0, got " + iterations);
        }

        @Override
        public String toString() { return kernel + "x" + iterations; }

        /** "KxN" (e.g. "15x2"); "off" gives null. */
        public static Dilation parse(String s) {
            if (s == null || s.strip().equalsIgnoreCase("off")) return null;
            String[] kn = s.strip().toLowerCase(java.util.Locale.ROOT).split("x");
            try {
                if (kn.length == 2) return new Dilation(Integer.parseInt(kn[0].strip()), Integer.parseInt(kn[1].strip()));
            } catch (NumberFormatException ignored) {
                // reported below
            }
            throw new IllegalArgumentException("dilation: expected KxN (kernel x iterations, e.g. 15x2) or 'off', got '" + s + "'");
        }
    }

    /** One cell of the grid. {@code refinerFraction} and {@code dilation} are null for "off". */
    public record Cell(long seed, Double refinerFraction, Dilation dilation, double guidance, String scheduler) {
        /** Axis → value as text, as recorded with the run and offered as compare axes. */
        public Map<String, String> axes() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("seed", Long.toString(seed));
            m.put("refiner", refinerFraction == null ? "off" : RunParams.text(refinerFraction));
            m.put("dilate", dilation == null ? "off" : dilation.toString());
            m.put("guidance", RunParams.text(guidance));
            m.put("scheduler", scheduler == null ? "default" : scheduler);
            return m;
        }
    }

    private final Kind kind;
    private final SdxlModel base;
    /** The SD 1/2 model instead of {@link #base}, or null. */
    private final SdModel sdBase;
    private final Path image, mask;
    private final GenerationRecord.Outpaint outpaint;
    private Image img, m; // read once, on the first cell
    private SdxlModel refiner;
    private String prompt = "";
    private String negativePrompt;
    private int steps = 30;
    private Double strength;
    private Integer width, height;
    private List<Long> seeds = List.of(0L);
    private List<Double> refinerFractions = Arrays.asList((Double) null);
    private List<Dilation> dilations = Arrays.asList((Dilation) null);
    private List<Double> guidances;
    private List<String> schedulers = Arrays.asList((String) null);
    private StepListener listener = StepListener.NONE;
    private CellListener cellListener = CellListener.NONE;

    private Sweep(Kind kind, SdxlModel base, SdModel sdBase, Path image, Path mask, GenerationRecord.Outpaint outpaint) {
        this.kind = kind;
        if (base == null && sdBase == null) throw new NullPointerException("base model");
        this.base = base;
        this.sdBase = sdBase;
        this.image = image;
        this.mask = mask;
        this.outpaint = outpaint;
    }

    public static Sweep txt2img(SdxlModel base) { return new Sweep(Kind.TXT2IMG, base, null, null, null, null); }

    public static Sweep img2img(SdxlModel base, Path image) { return new Sweep(Kind.IMG2IMG, base, null, requireFile("image", image), null, null); }

    public static Sweep inpaint(SdxlModel base, Path image, Path mask) {
        return new Sweep(Kind.INPAINT, base, null, requireFile("image", image), requireFile("mask", mask), null);
    }

    /** A txt2img, img2img or inpaint sweep on an SD 1/2 model ({@code image} for img2img and inpaint, {@code mask} for inpaint, else null). */
    public static Sweep of(Kind kind, SdModel model, Path image, Path mask) {
        if (kind == Kind.OUTPAINT) throw new IllegalArgumentException("outpaint sweeps take SDXL models here; SD 1/2 sweep txt2img, img2img and inpaint");
        return new Sweep(kind, null, Objects.requireNonNull(model, "base model"), kind == Kind.TXT2IMG ? null : requireFile("image", image),
                kind == Kind.INPAINT ? requireFile("mask", mask) : null, null);
    }

    /** Outpainting: the image on a canvas grown by the extents; the dilation axis applies to the new area's mask. */
    public static Sweep outpaint(SdxlModel base, Path image, GenerationRecord.Outpaint extents) {
        return new Sweep(Kind.OUTPAINT, base, null, requireFile("image", image), null, Objects.requireNonNull(extents, "outpaint extents"));
    }

    private static Path requireFile(String what, Path p) {
        if (p == null || !Files.isRegularFile(p)) throw new IllegalArgumentException(what + ": no such file " + p);
        return p.toAbsolutePath().normalize();
    }

    /** The refiner used by cells whose refiner fraction is not "off" (not closed by the sweep). */
    public Sweep refinerModel(SdxlModel m) { this.refiner = m; return this; }

    public Sweep prompt(String p) { this.prompt = Objects.requireNonNull(p, "prompt"); return this; }

    public Sweep negativePrompt(String p) { this.negativePrompt = p; return this; }

    public Sweep steps(int n) {
        if (n < 1) throw new IllegalArgumentException("steps must be at least 1, got " + n);
        this.steps = n;
        return this;
    }

    public Sweep strength(Double s) { this.strength = s; return this; }

    public Sweep size(int w, int h) { this.width = w; this.height = h; return this; }

    public Sweep seeds(long... s) {
        if (s.length == 0) throw new IllegalArgumentException("seeds: give at least one");
        this.seeds = Arrays.stream(s).boxed().toList();
        return this;
    }

    /** Refiner axis: null is "off" (the base runs every step), a number the base's share before the refiner takes over. */
    public Sweep refinerFractions(Double... f) { this.refinerFractions = axis("refinerFractions", f); return this; }

    /** Mask dilation axis (inpainting only): null is "off". */
    public Sweep dilations(Dilation... d) { this.dilations = axis("dilations", d); return this; }

    /** Guidance scales (default: each pipeline's own default). */
    public Sweep guidances(double... g) {
        if (g.length == 0) throw new IllegalArgumentException("guidances: give at least one");
        this.guidances = Arrays.stream(g).boxed().toList();
        return this;
    }

    /** Scheduler short names ("euler", "ddim", …); null is the model's own. */
    public Sweep schedulers(String... s) { this.schedulers = axis("schedulers", s); return this; }

    /** Called after every step of every cell (e.g. a progress bar). */
    public Sweep onStep(StepListener l) { this.listener = Objects.requireNonNull(l); return this; }

    /** Called when each cell starts and ends. */
    public Sweep onCell(CellListener l) { this.cellListener = Objects.requireNonNull(l); return this; }

    @SafeVarargs
    private static <T> List<T> axis(String name, T... values) {
        if (values == null || values.length == 0) throw new IllegalArgumentException(name + ": give at least one value (null is 'off')");
        return Arrays.asList(values.clone());
    }

    /** The grid, in the order it runs. */
    public List<Cell> cells() {
        double defaultGuidance = kind == Kind.INPAINT || kind == Kind.OUTPAINT || sdBase != null ? 7.5 : 5.0; // the pipelines' own defaults
        List<Double> gs = guidances != null ? guidances : List.of(defaultGuidance);
        List<Cell> cells = new ArrayList<>();
        for (long s : seeds) for (Double f : refinerFractions) for (Dilation d : dilations) for (double g : gs) for (String sc : schedulers) {
            cells.add(new Cell(s, f, d, g, sc));
        }
        return cells;
    }

    /** Runs and records every cell; returns the runs in grid order. */
    public List<RunRecord> run(RunStore store, String experiment, Collection<String> tags) {
        Objects.requireNonNull(store, "store");
        check();
        List<Cell> cells = cells();
        String sweepId = newId("sweep");
        List<RunRecord> runs = new ArrayList<>();
        for (int k = 1; k <= cells.size(); k++) {
            Cell c = cells.get(k - 1);
            String label = String.join(" ", c.axes().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
            cellListener.started(k, cells.size(), label);
            long t0 = System.nanoTime();
            runs.add(runCell(c, store, experiment, tags, sweepId, Map.of()));
            cellListener.finished(k, cells.size(), label, (System.nanoTime() - t0) / 1e9);
        }
        return runs;
    }

    /** A sweep (or batch) id: the prefix, the UTC time and 16 random bits. */
    static String newId(String prefix) {
        return prefix + "-" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC).format(Instant.now())
                + "-" + String.format("%04x", ThreadLocalRandom.current().nextInt(1 << 16));
    }

    /** The grid settings that cannot run, rejected before any cell (and any weight) loads. */
    public void check() {
        if (sdBase != null && refinerFractions.stream().anyMatch(Objects::nonNull)) {
            throw new IllegalArgumentException("refiner fractions other than 'off' are an SDXL-only setting; SD 1/2 models take none of "
                    + io.jdiffusion.pipelines.ModelFamily.SDXL_ONLY_SETTINGS);
        }
        if (refinerFractions.stream().anyMatch(Objects::nonNull) && refiner == null) {
            throw new IllegalArgumentException("refiner fractions other than 'off' need a refiner model");
        }
        if (kind != Kind.INPAINT && kind != Kind.OUTPAINT && dilations.stream().anyMatch(Objects::nonNull)) {
            throw new IllegalArgumentException("mask dilation applies to inpainting only (inpaint and outpaint sweeps)");
        }
    }

    /** Reads the input image and mask (once); a file that cannot be decoded fails here, before any cell runs. */
    public void readInputs() {
        if (image != null && img == null) img = ImageFiles.read(image);
        if (mask != null && m == null) m = ImageFiles.read(mask);
    }

    /**
     * Runs one cell and records it under {@code sweepId}; {@code extraAxes} (e.g. a batch's row and task)
     * are recorded before the cell's own axes. The record carries {@link #key(Cell)} so a resumed batch can skip it.
     */
    public RunRecord runCell(Cell c, RunStore store, String experiment, Collection<String> tags, String sweepId,
                             Map<String, String> extraAxes) {
        readInputs();
        Map<String, Path> inputs = new LinkedHashMap<>();
        if (image != null) inputs.put("image", image);
        if (mask != null) inputs.put("mask", mask);
        GenerationPipeline<?> p = sdBase != null ? sdPipeline(c) : sdxlPipeline(c);
        p.prompt(prompt).steps(steps).guidance(c.guidance()).seed(c.seed());
        if (negativePrompt != null) p.negativePrompt(negativePrompt);
        if (width != null) p.size(width, height);
        if (c.scheduler() != null) p.scheduler(c.scheduler());
        StepTimings timings = new StepTimings(listener);
        p.onStep(timings);
        timings.restart();
        GenerationResult r = p.run();
        Map<String, String> axes = new LinkedHashMap<>(extraAxes);
        axes.putAll(c.axes());
        return store.record(experiment, tags, r, timings.finish(), inputs, new RunRecord.SweepCell(sweepId, axes, key(c)),
                sdBase != null ? sdBase.backend() : base.backend());
    }

    private SdxlPipeline<?> sdxlPipeline(Cell c) {
        SdxlPipeline<?> p = switch (kind) {
            case TXT2IMG -> Text2ImagePipeline.of(base);
            case IMG2IMG -> {
                Img2ImgPipeline i = Img2ImgPipeline.of(base).image(img, image.toString());
                if (strength != null) i.strength(strength);
                yield i;
            }
            case INPAINT, OUTPAINT -> {
                InpaintPipeline i = InpaintPipeline.of(base).image(img, image.toString());
                if (kind == Kind.INPAINT) i.mask(m, mask.toString());
                else i.outpaint(outpaint.left(), outpaint.top(), outpaint.right(), outpaint.bottom(), outpaint.overlap());
                if (c.dilation() != null) i.dilate(c.dilation().kernel(), c.dilation().iterations());
                if (strength != null) i.strength(strength);
                yield i;
            }
        };
        if (c.refinerFraction() != null) p.refiner(refiner).highNoiseFraction(c.refinerFraction());
        return p;
    }

    private SdPipeline sdPipeline(Cell c) {
        SdPipeline p = switch (kind) {
            case TXT2IMG -> SdPipeline.txt2img(sdBase);
            case IMG2IMG -> SdPipeline.img2img(sdBase).image(img, image.toString());
            case INPAINT -> SdPipeline.inpaint(sdBase).image(img, image.toString()).mask(m, mask.toString());
            case OUTPAINT -> throw new IllegalStateException("no SD outpaint sweep");
        };
        if (c.dilation() != null) p.dilate(c.dilation().kernel(), c.dilation().iterations());
        if (strength != null) p.strength(strength);
        return p;
    }

    /**
     * What makes a cell the same run again: the task, the models, prompts, steps, strength, size, outpaint
     * extents, the cell's axes and the SHA-256 of the input files' bytes — as one SHA-256 (hex). A cell
     * whose key is already in the store is skipped by a resumed batch.
     */
    public String key(Cell c) {
        StringBuilder b = new StringBuilder("jdiffusion-cell-v1\n");
        b.append("task=").append(kind).append('\n');
        b.append("base=").append(sdBase != null ? sdBase.name() : modelName(base)).append('\n');
        b.append("refiner=").append(c.refinerFraction() == null ? "off" : modelName(refiner)).append('\n');
        b.append("prompt=").append(prompt).append('\n');
        b.append("negativePrompt=").append(negativePrompt).append('\n');
        b.append("steps=").append(steps).append('\n');
        b.append("strength=").append(strength).append('\n');
        b.append("size=").append(width).append('x').append(height).append('\n');
        b.append("outpaint=").append(outpaint).append('\n');
        c.axes().forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        b.append("image=").append(fileHash(image)).append('\n');
        b.append("mask=").append(fileHash(mask)).append('\n');
        return RunStore.sha256(b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** The keys ({@link #key}) of the sweep and batch cells a store holds; damaged runs are passed over. */
    public static java.util.Set<String> keysIn(RunStore store) {
        java.util.Set<String> keys = new java.util.HashSet<>();
        for (RunStore.Entry e : store.list().runs()) {
            try {
                RunRecord r = store.get(e.id());
                if (r.sweep() != null && r.sweep().key() != null) keys.add(r.sweep().key());
            } catch (RunStoreException damaged) {
                // a damaged run is no proof the cell ran: it runs again
            }
        }
        return keys;
    }

    private static String modelName(SdxlModel model) {
        if (model == null) return "none";
        Path p = Path.of(model.name());
        return Files.exists(p) ? p.toAbsolutePath().normalize().toString() : model.name();
    }

    private final Map<Path, String> fileHashes = new java.util.HashMap<>();

    private String fileHash(Path p) {
        if (p == null) return "none";
        return fileHashes.computeIfAbsent(p, f -> {
            try {
                return RunStore.sha256(Files.readAllBytes(f));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
            }
        });
    }
}
