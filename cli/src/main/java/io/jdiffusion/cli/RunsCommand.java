package io.jdiffusion.cli;

import io.jdiffusion.runs.CompareReport;
import io.jdiffusion.runs.RunColumns;
import io.jdiffusion.runs.RunFilter;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.runs.RunStoreException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "runs", mixinStandardHelpOptions = true,
        description = {"The run store: every generation recorded with its parameters, inputs, outputs and timings.",
                "Store: --runs DIR, else $JDIFFUSION_RUNS, else ./jdiffusion-runs."},
        subcommands = {RunsCommand.ListRuns.class, RunsCommand.Show.class, RunsCommand.Compare.class,
                RunsCommand.Verify.class, RunsCommand.Reindex.class})
final class RunsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { throw new CommandLine.ParameterException(spec.commandLine(), "name a command: list, show, compare, verify or reindex"); }

    /** The store option and run selection shared by the subcommands. */
    static final class Selection {
        @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder.")
        Path store;

        @Option(names = "--experiment", paramLabel = "NAME", description = "Only runs of this experiment.")
        String experiment;

        @Option(names = "--tag", paramLabel = "TAG", description = "Only runs with this tag (repeatable: all must match).")
        List<String> tags;

        @Option(names = "--where", paramLabel = "KEY=VALUE",
                description = "Only runs whose KEY has VALUE (repeatable): a column of `runs list` (refiner=0.8, refiner=on, dilate=15x2, guidance, steps, seed) or a parameter as `runs show` lists it (base.guidance, mask.dilate.kernel); numbers compare as numbers. An unknown key is an error listing the known ones.")
        List<String> where;

        RunStore open() { return openStore(store); }

        /** An existing run store (the --runs folder, else the default one); --runs is named when there is none. */
        static RunStore openStore(Path store) {
            Path dir = RunStore.defaultDir(store);
            if (!Files.isDirectory(dir.resolve("runs"))) throw new IllegalArgumentException("--runs: no run store at " + dir.toAbsolutePath());
            return RunStore.open(dir);
        }

        /** The runs the options select; an unknown --where key or --experiment is a usage error naming the known ones. */
        List<RunStore.Entry> select(RunStore.Listing listing) {
            return new RunFilter(experiment, tags, where).select(listing.runs());
        }
    }

    static void problems(PrintWriter err, List<String> problems) {
        for (String p : problems) err.println("jdiffusion: warning: " + p);
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the runs (oldest first), filtered by experiment, tag and parameters.")
    static final class ListRuns implements Callable<Integer> {
        @CommandLine.Mixin Selection sel;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            RunStore.Listing l = sel.open().list();
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-34s %-16s %-8s %-6s %-8s %-6s %-8s %-5s %-6s %-6s %-6s %s%n", "RUN", "EXPERIMENT", "PIPELINE", "SEED", "REFINER", "DILATE",
                    "GUIDANCE", "STEPS", "PSNR", "SSIM", "SEAM", "TAGS");
            for (RunStore.Entry e : sel.select(l)) {
                Map<String, String> c = RunColumns.of(e); // the values --where matches
                out.printf("%-34s %-16s %-8s %-6s %-8s %-6s %-8s %-5s %-6s %-6s %-6s %s%n", e.id(), c.get("experiment"), c.get("pipeline"), c.get("seed"),
                        c.get("refiner"), c.get("dilate"), c.get("guidance"), c.get("steps"), c.get("psnr"), c.get("ssim"), c.get("seam"),
                        e.tags() == null ? "" : String.join(",", e.tags()));
            }
            problems(spec.commandLine().getErr(), l.problems());
            return 0;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Shows one run: parameters, prompts, files, timings, environment.")
    static final class Show implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "RUN|IMAGE", description = "Run id or unique prefix, or a PNG/JPEG the run wrote.") String id;
        @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder.") Path store;
        @Option(names = "--json", description = "Print the stored run.json instead.") boolean json;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            RunStore st = Selection.openStore(store);
            RunRecord r = find(st, ImageRuns.runId(id));
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(Files.readString(st.runDir(r.id()).resolve("run.json")));
                return 0;
            }
            out.println("run         " + r.id());
            out.println("folder      " + st.runDir(r.id()));
            out.println("experiment  " + r.experiment());
            out.println("tags        " + (r.tags() == null ? "" : String.join(", ", r.tags())));
            out.println("created     " + r.created());
            if (r.sweep() != null) out.println("sweep       " + r.sweep().id() + " " + r.sweep().cell());
            out.println("prompts:");
            r.prompts().forEach((k, v) -> out.println("  " + k + " = " + v));
            out.println("parameters:");
            r.flatParams().forEach((k, v) -> out.println("  " + k + " = " + v));
            out.println("inputs:");
            r.inputs().forEach((k, v) -> out.println("  " + k + " = " + (v.file() == null ? "(not kept)" : st.file(r, v.file()))
                    + " from " + v.original() + (v.sha256() == null ? "" : " sha256 " + v.sha256())));
            out.println("outputs:");
            for (RunRecord.StoredOutput o : r.outputs()) out.println("  " + st.file(r, o.file()) + " " + o.width() + "x" + o.height() + " sha256 " + o.sha256());
            if (r.timings() != null) {
                out.printf("timings     %.1f ms total, %d steps%n", r.timings().totalMs(), r.timings().steps().size());
                for (var step : r.timings().steps()) out.printf("  step %d/%d t=%.0f %.1f ms%n", step.index() + 1, step.total(), step.timestep(), step.ms());
            }
            out.println("environment:");
            r.environment().forEach((k, v) -> out.println("  " + k + " = " + v));
            out.println("weights:");
            r.weightHashes().forEach((k, v) -> out.println("  " + k + " = " + v));
            return 0;
        }
    }

    static RunRecord find(RunStore st, String id) {
        try {
            return st.find(id);
        } catch (RunStoreException e) {
            throw new IllegalArgumentException("RUN: " + e.getMessage(), e);
        }
    }

    @Command(name = "compare", mixinStandardHelpOptions = true,
            description = {"Writes a static HTML page comparing runs side by side (opens from disk, no server):",
                    "output grid by two chosen axes, the same zoomed crop of every output, parameter differences",
                    "highlighted, filters by tag and parameter. Runs: the ids given, else those the filters select."})
    static final class Compare implements Callable<Integer> {
        @Parameters(arity = "0..*", paramLabel = "RUN", description = "Run ids or unique prefixes.") List<String> ids;
        @CommandLine.Mixin Selection sel;
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "HTML", description = "Where to write the page.") Path output;
        @Option(names = "--embed", description = "Inline the images (data URIs) so the page can be moved away from the store.") boolean embed;
        @Option(names = "--force", description = "Write through an --output that is a symbolic link, device or FIFO instead of refusing it (a regular file is always replaced atomically).") boolean force;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            RunStore st = sel.open();
            List<RunRecord> runs = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            if (ids != null && !ids.isEmpty()) {
                for (String id : ids) runs.add(find(st, id));
            } else {
                RunStore.Listing l = st.list();
                problems.addAll(l.problems());
                for (RunStore.Entry e : sel.select(l)) {
                    try {
                        runs.add(st.get(e.id()));
                    } catch (RunStoreException ex) {
                        problems.add(ex.getMessage());
                    }
                }
            }
            if (runs.isEmpty()) throw new IllegalArgumentException("no runs match" + (problems.isEmpty() ? "" : " (" + problems.size() + " unreadable)"));
            problems(spec.commandLine().getErr(), problems);
            Path page = CompareReport.write(st, runs, problems, output, embed, force);
            spec.commandLine().getOut().println(page);
            return 0;
        }
    }

    /** What verify and reindex share: the store they open and where they write. */
    abstract static class StoreTask implements Callable<Integer> {
        @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder.") Path store;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() { return run(Selection.openStore(store)); }

        abstract int run(RunStore st);
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, description = "Reads every run and checks its files against the recorded hashes; exit 1 on any problem.")
    static final class Verify extends StoreTask {
        @Override
        int run(RunStore st) {
            List<String> problems = st.verify();
            for (String p : problems) spec.commandLine().getOut().println(p);
            spec.commandLine().getOut().println(problems.isEmpty() ? "store " + st.dir() + ": all runs intact" : problems.size() + " problem(s)");
            return problems.isEmpty() ? 0 : 1;
        }
    }

    @Command(name = "reindex", mixinStandardHelpOptions = true, description = "Rewrites the index from the run folders.")
    static final class Reindex extends StoreTask {
        @Override
        int run(RunStore st) {
            problems(spec.commandLine().getErr(), st.reindex());
            spec.commandLine().getOut().println("index of " + st.dir() + " rewritten (" + st.list().runs().size() + " runs)");
            return 0;
        }
    }
}
