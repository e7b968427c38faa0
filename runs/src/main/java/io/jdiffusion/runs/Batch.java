package io.jdiffusion.runs;

import io.jdiffusion.pipelines.SdxlModel;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A dataset run: every row of a {@link BatchManifest} crossed with one grid of settings, on models
 * loaded once. Each row becomes a {@link Sweep} (its image, mask or outpaint extents, prompts and
 * seeds) that {@code grid} configures with the shared axes (refiner fractions, dilations, guidance,
 * steps, schedulers), so the grid is the sweep's own. All cells are recorded under one batch id, with
 * the row, input file name and task as extra axes.
 *
 * <p>A row whose inputs cannot be read, or a cell that fails, is reported (row number and reason) and
 * the batch goes on. With {@code resume}, cells whose {@link Sweep#key} is already in the store are skipped.
 */
public final class Batch {
    /** A row or cell that failed: which, and why. */
    public record Failure(int row, String what, String reason) {}

    /** What the batch did: the runs recorded (in order), how many cells were skipped as already stored, and what failed. */
    public record Result(int cells, List<RunRecord> runs, int skipped, List<Failure> failures) {
        public boolean ok() { return failures.isEmpty(); }
    }

    /** A planned cell: its row's sweep, the cell and its label. */
    private record Planned(BatchManifest.Row row, Sweep sweep, Sweep.Cell cell, String label) {}

    private final List<BatchManifest.Row> rows;
    private final SdxlModel base;
    private SdxlModel refiner;
    private Consumer<Sweep> grid = s -> { };
    private boolean resume;
    private Sweep.CellListener cells = Sweep.CellListener.NONE;
    private Consumer<String> report = s -> { };
    private io.jdiffusion.pipelines.StepListener steps = io.jdiffusion.pipelines.StepListener.NONE;

    public Batch(List<BatchManifest.Row> rows, SdxlModel base) {
        this.rows = List.copyOf(rows);
        this.base = Objects.requireNonNull(base, "base model");
    }

    public Batch refinerModel(SdxlModel m) { this.refiner = m; return this; }

    /** Applies the shared grid (axes, steps, strength) to each row's sweep. */
    public Batch grid(Consumer<Sweep> g) { this.grid = Objects.requireNonNull(g); return this; }

    /** Skip cells whose settings and input hashes are already recorded in the store. */
    public Batch resume(boolean r) { this.resume = r; return this; }

    public Batch onCell(Sweep.CellListener l) { this.cells = Objects.requireNonNull(l); return this; }

    public Batch onStep(io.jdiffusion.pipelines.StepListener l) { this.steps = Objects.requireNonNull(l); return this; }

    /** Where failures (and skips) are told as they happen, one line each. */
    public Batch onReport(Consumer<String> r) { this.report = Objects.requireNonNull(r); return this; }

    /** Every row's sweep, configured and checked (no weights read): a bad grid is an error before anything runs. */
    private List<Planned> plan() {
        List<Planned> planned = new ArrayList<>();
        for (BatchManifest.Row row : rows) {
            Sweep s = row.task() == BatchManifest.Task.INPAINT ? Sweep.inpaint(base, row.image(), row.mask())
                    : Sweep.outpaint(base, row.image(), row.outpaint());
            s.refinerModel(refiner).prompt(row.prompt()).negativePrompt(row.negativePrompt());
            grid.accept(s);
            s.seeds(row.seeds()).onStep(steps);
            s.check();
            for (Sweep.Cell c : s.cells()) {
                String axes = String.join(" ", c.axes().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
                planned.add(new Planned(row, s, c, row.label() + " " + axes));
            }
        }
        return planned;
    }

    /** The number of cells the batch has (rows × grid), without running any. */
    public int size() { return plan().size(); }

    /** Runs every cell not already stored (with resume); failures are collected, not thrown. */
    public Result run(RunStore store, String experiment, Collection<String> tags) {
        Objects.requireNonNull(store, "store");
        List<Planned> planned = plan();
        Set<String> done = resume ? Sweep.keysIn(store) : Set.of();
        String batchId = Sweep.newId("batch");
        List<RunRecord> runs = new ArrayList<>();
        List<Failure> failures = new ArrayList<>();
        Map<Integer, String> failedRows = new LinkedHashMap<>(); // row → why its inputs could not be read
        int skipped = 0;
        for (int k = 1; k <= planned.size(); k++) {
            Planned p = planned.get(k - 1);
            int row = p.row().number();
            if (failedRows.containsKey(row)) continue;
            if (resume && done.contains(p.sweep().key(p.cell()))) {
                skipped++;
                continue;
            }
            try {
                p.sweep().readInputs();
            } catch (RuntimeException e) {
                String why = reason(e);
                failedRows.put(row, why);
                failures.add(new Failure(row, p.row().label(), why));
                report.accept(p.row().label() + " failed: " + why + " (its cells are skipped)");
                continue;
            }
            cells.started(k, planned.size(), p.label());
            long t0 = System.nanoTime();
            try {
                Map<String, String> axes = new LinkedHashMap<>();
                axes.put("row", Integer.toString(row));
                axes.put("input", p.row().image().getFileName().toString());
                axes.put("task", p.row().task().name().toLowerCase(Locale.ROOT));
                runs.add(p.sweep().runCell(p.cell(), store, experiment, tags, batchId, axes));
                cells.finished(k, planned.size(), p.label(), (System.nanoTime() - t0) / 1e9);
            } catch (RuntimeException e) {
                String why = reason(e);
                failures.add(new Failure(row, p.label(), why));
                report.accept("cell " + k + "/" + planned.size() + ", " + p.label() + " failed: " + why);
            }
        }
        return new Result(planned.size(), runs, skipped, failures);
    }

    /** The message of a failure (its cause's when it has none of its own). */
    static String reason(Throwable e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) t = t.getCause();
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
