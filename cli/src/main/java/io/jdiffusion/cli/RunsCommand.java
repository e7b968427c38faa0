package io.jdiffusion.cli;

import io.jdiffusion.runs.CompareReport;
import io.jdiffusion.runs.RunColumns;
import io.jdiffusion.runs.RunFilter;
import io.jdiffusion.runs.RunNotes;
import io.jdiffusion.runs.RunRecord;
import io.jdiffusion.runs.RunServer;
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
                RunsCommand.Star.class, RunsCommand.Note.class, RunsCommand.Serve.class, RunsCommand.Verify.class, RunsCommand.Reindex.class})
final class RunsCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() { throw new CommandLine.ParameterException(spec.commandLine(), "name a command: list, show, compare, star, note, serve, verify or reindex"); }

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
            out.printf("%-34s %-16s %-8s %-6s %-8s %-6s %-8s %-5s %-6s %-6s %-6s %-4s %s%n", "RUN", "EXPERIMENT", "PIPELINE", "SEED", "REFINER", "DILATE",
                    "GUIDANCE", "STEPS", "PSNR", "SSIM", "SEAM", "STAR", "TAGS  NOTE");
            for (RunStore.Entry e : sel.select(l)) {
                Map<String, String> c = RunColumns.of(e); // the values --where matches
                String note = e.notesOrNone().note();
                out.printf("%-34s %-16s %-8s %-6s %-8s %-6s %-8s %-5s %-6s %-6s %-6s %-4s %s%s%n", e.id(), c.get("experiment"), c.get("pipeline"), c.get("seed"),
                        c.get("refiner"), c.get("dilate"), c.get("guidance"), c.get("steps"), c.get("psnr"), c.get("ssim"), c.get("seam"),
                        "1".equals(c.get("starred")) ? "*" : "", e.tags() == null ? "" : String.join(",", e.tags()),
                        note.isEmpty() ? "" : "  " + oneLine(note, 60));
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
            try {
                RunNotes notes = st.notes(r.id());
                out.println("starred     " + (notes.starred() ? "yes" : "no"));
                if (!notes.note().isEmpty()) out.println("note        " + notes.note().replace("\n", "\n            "));
            } catch (RunStoreException e) {
                problems(spec.commandLine().getErr(), List.of(e.getMessage())); // the run itself is still shown
            }
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
            description = {"Writes a static HTML page comparing runs side by side (opens from disk, no server): the outputs",
                    "in a grid by any two axes (input image or mask, seed, refiner, dilation, model family, any parameter), filters",
                    "by input thumbnail, tag, star and value, a detail view per run, two picked runs by their differences, the same",
                    "zoomed crop of every output, and a sortable, searchable parameter table with the metrics. The files it links",
                    "to are copied beside it (PAGE_files/), so the folder can be moved, zipped or served. Runs: the ids given, else",
                    "those the filters select."})
    static final class Compare implements Callable<Integer> {
        @Parameters(arity = "0..*", paramLabel = "RUN", description = "Run ids or unique prefixes.") List<String> ids;
        @CommandLine.Mixin Selection sel;
        @Option(names = {"-o", "--output"}, required = true, paramLabel = "HTML", description = "Where to write the page.") Path output;
        @Option(names = "--embed", description = "Inline the images and records (data URIs) instead of copying them beside the page: one file that travels alone.") boolean embed;
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

    /** The first line of a note, at most {@code max} characters, for one row of the list. */
    static String oneLine(String note, int max) {
        String l = note.lines().findFirst().orElse("");
        boolean more = l.length() > max || !l.equals(note);
        return (l.length() > max ? l.substring(0, max) : l) + (more ? "…" : "");
    }

    @Command(name = "star", mixinStandardHelpOptions = true,
            description = {"Stars runs (the images you chose) so that they can be found again: `runs list` marks them with *,",
                    "`runs list --where starred=1` lists them, the compare page shows and filters them. --off removes the star.",
                    "Saved in the run's folder (runs/<id>/notes.json), replaced atomically."})
    static final class Star implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "--off", description = "Remove the star.") boolean off;
        @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder.") Path store;
        @Parameters(arity = "1..*", paramLabel = "RUN|IMAGE", description = "Run ids or unique prefixes, or PNG/JPEG files the runs wrote.") List<String> ids;

        @Override
        public Integer call() {
            RunStore st = Selection.openStore(store);
            List<RunRecord> runs = new ArrayList<>();
            for (String id : ids) runs.add(find(st, ImageRuns.runId(id))); // every id checked before any is changed
            for (RunRecord r : runs) {
                st.annotate(r.id(), !off, null);
                spec.commandLine().getOut().println((off ? "unstarred " : "starred ") + r.id());
            }
            return 0;
        }
    }

    @Command(name = "note", mixinStandardHelpOptions = true,
            description = {"Sets the note of a run (\"\" clears it): shown by `runs list`, `runs show` and the compare page,",
                    "matched by `runs list --where note=TEXT`. Saved in the run's folder (runs/<id>/notes.json), replaced atomically."})
    static final class Note implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "RUN|IMAGE", description = "Run id or unique prefix, or a PNG/JPEG the run wrote.") String id;
        @Parameters(index = "1", paramLabel = "TEXT", description = "The note (at most " + RunNotes.MAX_NOTE_CHARS + " characters).") String text;
        @Option(names = "--runs", paramLabel = "DIR", description = "Run store folder.") Path store;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            RunStore st = Selection.openStore(store);
            RunRecord r = find(st, ImageRuns.runId(id));
            RunNotes n = st.annotate(r.id(), null, text);
            spec.commandLine().getOut().println((n.note().isEmpty() ? "cleared the note of " : "noted ") + r.id());
            return 0;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = {"Serves the compare page of the selected runs on this machine only (http://127.0.0.1:PORT/), where",
                    "stars and notes can be set by a click; they are saved into the store as by `runs star` and `runs note`.",
                    "The page is made afresh on each load. Runs until interrupted (Ctrl-C)."})
    static final class Serve implements Callable<Integer> {
        @CommandLine.Mixin Selection sel;
        @Option(names = "--port", paramLabel = "PORT", defaultValue = "8765",
                description = "Port on 127.0.0.1 (0 picks a free one). Default: ${DEFAULT-VALUE}.") int port;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws InterruptedException {
            RunStore st = sel.open();
            try (RunServer server = RunServer.start(st, new RunFilter(sel.experiment, sel.tags, sel.where), port)) {
                spec.commandLine().getOut().println("serving the runs of " + st.dir() + " at " + server.uri() + " (Ctrl-C stops)");
                spec.commandLine().getOut().flush();
                Thread.currentThread().join(); // until the JVM is interrupted
            }
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
