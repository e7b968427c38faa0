package io.jdiffusion.runs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageMetadata;
import io.jdiffusion.pipelines.image.PngWriter;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.cpu.CpuBackend;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A folder of recorded runs (by default {@code ./jdiffusion-runs}), one sub-folder per run,
 * plus an index for fast listing:
 *
 * <pre>
 * jdiffusion-runs/
 *   runs/&lt;id&gt;/run.json            the {@link RunRecord} (the source of truth)
 *   runs/&lt;id&gt;/outputs/0.png       output PNGs, the bytes the CLI writes (record embedded)
 *   runs/&lt;id&gt;/inputs/image.png    copies of the input image and mask
 *   index.jsonl                  one {@link Entry} per line, appended under a file lock; rebuildable
 *   tmp/                         staging folders of runs being written
 *   .lock                        the lock file guarding index.jsonl
 * </pre>
 *
 * <p>Concurrency: a run is staged in {@code tmp/} under a unique name and published with one
 * atomic rename to {@code runs/<id>}, so readers never see half a run and writers never touch
 * each other's files; ids carry a millisecond time stamp and 48 random bits, and a rename that
 * meets an existing run retries with a new id. Only the index is shared: every append takes an
 * exclusive {@link FileLock} on {@code .lock} (between processes) and a lock in this JVM
 * (FileLock is per process) and writes one whole line. Any number of processes may therefore
 * write one store at once. The index is a cache: runs missing from it (a writer killed between
 * rename and append) are still listed from their folders, and {@link #reindex()} rewrites it.
 */
public final class RunStore {
    public static final int FORMAT = 1;
    /** The default store folder, relative to the working directory. */
    public static final String DEFAULT_DIR = "jdiffusion-runs";
    /** Environment variable naming the store folder when no option does. */
    public static final String ENV = "JDIFFUSION_RUNS";

    static final String RUN_FILE = "run.json";
    private static final String INDEX = "index.jsonl";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final DateTimeFormatter ID_TIME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS").withZone(ZoneOffset.UTC);
    /** FileLock belongs to the process; threads of one JVM queue here first. */
    private static final ReentrantLock JVM_LOCK = new ReentrantLock();

    static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();

    private final Path dir;

    private RunStore(Path dir) { this.dir = dir; }

    /** Opens (creating if needed) the store in a folder. */
    public static RunStore open(Path dir) {
        Path d = dir.toAbsolutePath().normalize();
        if (Files.exists(d) && !Files.isDirectory(d)) throw new IllegalArgumentException("run store " + d + " is a file, not a folder");
        try {
            Files.createDirectories(d.resolve("runs"));
            Files.createDirectories(d.resolve("tmp"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create run store " + d + ": " + e.getMessage(), e);
        }
        StoreFiles.removeStale(d.resolve("tmp"), Instant.now());
        return new RunStore(d);
    }

    /** The store named by an option, else $JDIFFUSION_RUNS, else ./jdiffusion-runs. */
    public static Path defaultDir(Path option) {
        if (option != null) return option;
        String env = System.getenv(ENV);
        return Path.of(env != null && !env.isBlank() ? env : DEFAULT_DIR);
    }

    public Path dir() { return dir; }

    /** The folder of a run (which may not exist). */
    public Path runDir(String id) { return dir.resolve("runs").resolve(checkId(id)); }

    /** A file of a run, from the relative name its record gives. */
    public Path file(RunRecord run, String relative) { return StoreFiles.resolve(runDir(run.id()), relative, run.id()); }

    /** One line of the index: enough to list, filter and pick runs without opening them. */
    public record Entry(String id, String experiment, List<String> tags, String created, String pipeline,
                        Map<String, String> params, int outputs, Map<String, Double> metrics, RunNotes notes) {
        /** An entry with no star or note. */
        public Entry(String id, String experiment, List<String> tags, String created, String pipeline,
                     Map<String, String> params, int outputs, Map<String, Double> metrics) {
            this(id, experiment, tags, created, pipeline, params, outputs, metrics, null);
        }

        static Entry of(RunRecord r, RunNotes notes) {
            return new Entry(r.id(), r.experiment(), r.tags(), r.created(),
                    r.generation() == null ? null : r.generation().pipeline(), r.flatParams(),
                    r.outputs() == null ? 0 : r.outputs().size(), r.metrics(), RunNotes.NONE.equals(notes) ? null : notes);
        }

        /** The star and note (never null). */
        public RunNotes notesOrNone() { return notes == null ? RunNotes.NONE : notes; }
    }

    /** The runs of the store, oldest first, and what was wrong while listing them (never fatal). */
    public record Listing(List<Entry> runs, List<String> problems) {}

    // ---------------------------------------------------------------- writing

    /** Records a generation; inputs (role → file) are copied into the store. */
    public RunRecord record(String experiment, Collection<String> tags, GenerationResult result,
                            StepTimings.Summary timings, Map<String, Path> inputs) {
        return record(experiment, tags, result, timings, inputs, null, null);
    }

    /**
     * Records a generation.
     *
     * @param inputs  role ("image", "mask") → the file read; null takes the paths the generation record names
     * @param sweep   the sweep cell this run belongs to, or null
     * @param backend the backend that ran it (for the device description), or null to describe it from the record
     */
    public RunRecord record(String experiment, Collection<String> tags, GenerationResult result, StepTimings.Summary timings,
                            Map<String, Path> inputs, RunRecord.SweepCell sweep, Backend backend) {
        if (result == null || result.record() == null) throw new IllegalArgumentException("result (with its generation record) is required");
        String exp = experiment == null || experiment.isBlank() ? "default" : experiment.strip();
        if (exp.contains("\n")) throw new IllegalArgumentException("experiment name may not contain a line break");
        List<String> tagList = new ArrayList<>();
        if (tags != null) {
            for (String t : new LinkedHashSet<>(tags)) {
                if (t == null || t.isBlank()) throw new IllegalArgumentException("tags may not be blank");
                if (t.contains("\n")) throw new IllegalArgumentException("tag '" + t.strip() + "' contains a line break");
                tagList.add(t.strip());
            }
        }
        GenerationRecord g = result.record();
        Path stage = stagingDir();
        try {
            Files.createDirectories(stage.resolve("inputs"));
            Files.createDirectories(stage.resolve("outputs"));
            Map<String, RunRecord.StoredInput> stored = new LinkedHashMap<>();
            Map<String, Path> inputFiles = new LinkedHashMap<>(); // role → the copy made (for the metrics)
            Map<String, GenerationRecord.InputFile> named = g.inputs() == null ? Map.of() : g.inputs();
            Set<String> roles = new LinkedHashSet<>(named.keySet());
            if (inputs != null) roles.addAll(inputs.keySet());
            for (String role : roles) {
                if (!role.matches("[a-z0-9_-]+")) throw new IllegalArgumentException("input role '" + role + "': use lower-case letters, digits, _ and -");
                GenerationRecord.InputFile f = named.get(role);
                Path src = inputs != null && inputs.get(role) != null ? inputs.get(role)
                        : f != null && f.path() != null ? Path.of(f.path()) : null;
                String pixelHash = f == null ? null : f.pixelSha256();
                if (src == null || !Files.isRegularFile(src)) {
                    // an in-memory input: only its pixel hash is known, so runs/<id> cannot reproduce it
                    stored.put(role, new RunRecord.StoredInput(src == null ? null : src.toString(), null, null, pixelHash));
                    continue;
                }
                byte[] bytes = Files.readAllBytes(src);
                String name = "inputs/" + role + extension(src);
                Files.write(stage.resolve(name), bytes);
                inputFiles.put(role, stage.resolve(name));
                stored.put(role, new RunRecord.StoredInput(src.toString(), name, sha256(bytes), pixelHash));
            }
            Map<String, String> env = environment(g, backend);
            for (int attempt = 0; ; attempt++) {
                Instant now = Instant.now();
                String id = ID_TIME.format(now) + "-" + String.format("%06x", ThreadLocalRandom.current().nextInt(1 << 24))
                        + String.format("%06x", ThreadLocalRandom.current().nextInt(1 << 24));
                // the outputs carry the run id, so any copy of them leads back here (encoded per id drawn)
                List<RunRecord.StoredOutput> outputs = new ArrayList<>();
                Map<String, String> text = pngText(g, id);
                for (int i = 0; i < result.images().size(); i++) {
                    Image img = result.images().get(i);
                    byte[] png = PngWriter.encode(img, text);
                    String name = "outputs/" + i + ".png";
                    Files.write(stage.resolve(name), png);
                    outputs.add(new RunRecord.StoredOutput(name, sha256(png), img.width(), img.height()));
                }
                RunRecord run = new RunRecord(FORMAT, id, exp, List.copyOf(tagList), now.toString(), RunParams.of(g),
                        RunParams.prompts(g), g, stored, outputs, timings, env,
                        weightHashes(g), sweep, RunMetrics.measure(g, inputFiles, result.images()));
                writeFully(stage.resolve(RUN_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(run));
                Path target = dir.resolve("runs").resolve(id);
                try {
                    move(stage, target);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                    if (attempt < 10) continue; // another writer took this id in the same millisecond: draw again
                    throw e;
                }
                stage = null;
                appendIndex(Entry.of(run, null));
                return run;
            }
        } catch (IOException e) {
            throw new RunStoreException(null, "cannot record the run in " + dir + ": " + e, e);
        } finally {
            if (stage != null) deleteTree(stage);
        }
    }

    /** The PNG text chunks of a generation, in the order the CLI writes them, so that store copies are the same bytes. */
    public static Map<String, String> pngText(GenerationRecord g) { return pngText(g, null); }

    /** {@link #pngText(GenerationRecord)} plus, when {@code runId} is not null, the run id under {@link ImageMetadata#RUN_KEYWORD}. */
    public static Map<String, String> pngText(GenerationRecord g, String runId) {
        Map<String, String> text = new LinkedHashMap<>();
        text.put("parameters", g.toParameters());
        text.put(PngWriter.JDIFFUSION_KEYWORD, g.toJson());
        if (runId != null) text.put(ImageMetadata.RUN_KEYWORD, runId);
        return text;
    }

    private Path stagingDir() {
        try {
            return StoreFiles.createUniqueDir(dir.resolve("tmp"), "run-");
        } catch (IOException e) {
            throw new RunStoreException(null, "cannot stage a run in " + dir.resolve("tmp") + ": " + e, e);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        if (Files.exists(to)) throw new FileAlreadyExistsException(to.toString());
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to); // same file system: still a rename
        }
    }

    private void appendIndex(Entry e) throws IOException {
        byte[] line = (JSON.writeValueAsString(e) + "\n").getBytes(StandardCharsets.UTF_8);
        withLock(() -> {
            appendLine(line);
            return null;
        });
    }

    /** Appends one whole line to the index; the caller holds the lock. */
    private void appendLine(byte[] line) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve(INDEX), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(line);
            while (b.hasRemaining()) ch.write(b);
            ch.force(false);
        }
    }

    private interface Locked<T> { T run() throws IOException; }

    private <T> T withLock(Locked<T> body) throws IOException {
        JVM_LOCK.lock();
        try (FileChannel lock = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = lock.lock()) {
            return body.run();
        } finally {
            JVM_LOCK.unlock();
        }
    }

    // ---------------------------------------------------------------- reading

    /** Every run: the index, plus runs whose folder exists but the index lacks; problems are reported, not thrown. */
    public Listing list() {
        List<String> problems = new ArrayList<>();
        Map<String, Entry> byId = new LinkedHashMap<>();
        Path index = dir.resolve(INDEX);
        if (Files.isRegularFile(index)) {
            List<String> lines = IndexFile.readLines(this, index, problems);
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i);
                if (l.isBlank()) continue;
                try {
                    Entry e = JSON.readValue(l, Entry.class);
                    if (e.id() == null || !ID.matcher(e.id()).matches()) throw new IOException("no valid run id");
                    byId.put(e.id(), e);
                } catch (IOException e) {
                    problems.add(INDEX + " line " + (i + 1) + " is unreadable (" + shortMessage(e)
                            + "); its run is still listed from its folder — `jdiffusion runs reindex` rewrites the index");
                }
            }
        }
        Set<String> folders = new LinkedHashSet<>(runFolders());
        for (String id : List.copyOf(byId.keySet())) {
            if (!folders.contains(id)) {
                problems.add("run " + id + " is listed in " + INDEX + " but its folder runs/" + id + " is missing");
                byId.remove(id);
            }
        }
        for (String id : folders) {
            if (byId.containsKey(id)) continue;
            try {
                byId.put(id, Entry.of(get(id), notesOrNone(id, problems)));
            } catch (RunStoreException e) {
                problems.add(e.getMessage());
            }
        }
        List<Entry> runs = new ArrayList<>(byId.values());
        runs.sort(Comparator.comparing(Entry::id));
        return new Listing(runs, problems);
    }

    private List<String> runFolders() {
        try (Stream<Path> s = Files.list(dir.resolve("runs"))) {
            return s.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> ID.matcher(n).matches()).sorted().toList();
        } catch (IOException e) {
            throw new RunStoreException(null, "cannot list " + dir.resolve("runs") + ": " + e, e);
        }
    }

    /** A whole run; a missing or damaged one throws {@link RunStoreException} naming the run and the file. */
    public RunRecord get(String id) {
        Path d = runDir(id);
        Path f = d.resolve(RUN_FILE);
        if (!Files.isDirectory(d)) throw new RunStoreException(id, "run " + id + " not found in " + dir + " (no folder runs/" + id + ")");
        byte[] bytes;
        try {
            bytes = StoreFiles.read(dir, f, StoreFiles.MAX_RECORD_BYTES);
        } catch (NoSuchFileException e) {
            throw new RunStoreException(id, "run " + id + " is damaged: its record " + f + " is missing");
        } catch (IOException e) {
            throw new RunStoreException(id, "run " + id + ": cannot read " + f + ": " + e, e);
        }
        RunRecord r;
        try {
            r = JSON.readValue(bytes, RunRecord.class);
        } catch (IOException e) {
            throw new RunStoreException(id, "run " + id + " is damaged: " + f + " is not a valid run record (" + shortMessage(e) + ")", e);
        }
        if (r == null || !id.equals(r.id()) || r.generation() == null || r.params() == null) {
            throw new RunStoreException(id, "run " + id + " is damaged: " + f + " is not a complete run record"
                    + (r != null && r.id() != null && !id.equals(r.id()) ? " (it names run " + r.id() + ")" : ""));
        }
        if (r.format() > FORMAT) {
            throw new RunStoreException(id, "run " + id + " was written by a newer jdiffusion (format " + r.format() + ", this reads " + FORMAT + ")");
        }
        try {
            return RunRecordCheck.check(r);
        } catch (IllegalArgumentException e) {
            throw new RunStoreException(id, "run " + id + " is damaged: " + f + ": " + e.getMessage(), e);
        }
    }

    /** A run by id or unique id prefix (as typed on the command line). */
    public RunRecord find(String idOrPrefix) {
        if (idOrPrefix == null || idOrPrefix.isBlank()) throw new IllegalArgumentException("a run id is required");
        if (Files.isDirectory(runDir(idOrPrefix))) return get(idOrPrefix);
        List<String> matches = runFolders().stream().filter(n -> n.startsWith(idOrPrefix)).toList();
        if (matches.size() == 1) return get(matches.getFirst());
        if (matches.isEmpty()) throw new RunStoreException(idOrPrefix, "run " + idOrPrefix + " not found in " + dir);
        throw new IllegalArgumentException("run id prefix '" + idOrPrefix + "' is ambiguous: " + String.join(", ", matches.subList(0, Math.min(5, matches.size())))
                + (matches.size() > 5 ? ", …" : ""));
    }

    // ---------------------------------------------------------------- stars and notes

    static final String NOTES_FILE = "notes.json";

    /** The star and note of a run ({@link RunNotes#NONE} when it has none); a damaged notes.json throws {@link RunStoreException}. */
    public RunNotes notes(String id) {
        Path f = runDir(id).resolve(NOTES_FILE);
        if (!Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return RunNotes.NONE;
        try {
            RunNotes n = JSON.readValue(StoreFiles.read(dir, f, 64L << 10), RunNotes.class);
            if (n == null) throw new IOException("empty");
            RunNotes.checkNote(n.note());
            return n;
        } catch (IOException | IllegalArgumentException e) {
            throw new RunStoreException(id, "run " + id + ": its notes " + f + " are damaged (" + shortMessage(e) + "); `jdiffusion runs note "
                    + id + " TEXT` rewrites them");
        }
    }

    private RunNotes notesOrNone(String id, List<String> problems) {
        try {
            return notes(id);
        } catch (RunStoreException e) {
            problems.add(e.getMessage());
            return RunNotes.NONE;
        }
    }

    /**
     * Stars, unstars or notes a run (by id or unique prefix): {@code starred} or {@code note} null keeps
     * the current value. Under the store lock, notes.json is replaced by one atomic rename and the index
     * gets a new line for the run (the last line of a run wins), so two writers never lose each other's change.
     */
    public RunNotes annotate(String idOrPrefix, Boolean starred, String note) {
        String checked = note == null ? null : RunNotes.checkNote(note);
        RunRecord r = find(idOrPrefix);
        try {
            return withLock(() -> {
                RunNotes old;
                try {
                    old = notes(r.id());
                } catch (RunStoreException e) {
                    old = RunNotes.NONE; // damaged notes are replaced
                }
                RunNotes n = new RunNotes(starred == null ? old.starred() : starred, checked == null ? old.note() : checked,
                        Instant.now().toString());
                Path tmp = io.jdiffusion.pipelines.image.OutputFile.createUnique(runDir(r.id()), ".notes-", ".tmp");
                try {
                    writeFully(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
                    move(tmp, runDir(r.id()).resolve(NOTES_FILE), true);
                } finally {
                    Files.deleteIfExists(tmp);
                }
                byte[] line = (JSON.writeValueAsString(Entry.of(r, n)) + "\n").getBytes(StandardCharsets.UTF_8);
                appendLine(line);
                return n;
            });
        } catch (IOException e) {
            throw new RunStoreException(r.id(), "cannot save the notes of run " + r.id() + ": " + e, e);
        }
    }

    /** Loads every run and checks its files against their recorded hashes; returns one line per problem. */
    public List<String> verify() {
        List<String> problems = new ArrayList<>(list().problems());
        for (String id : runFolders()) {
            RunRecord r;
            try {
                r = get(id);
            } catch (RunStoreException e) {
                if (!problems.contains(e.getMessage())) problems.add(e.getMessage());
                continue;
            }
            for (RunRecord.StoredOutput o : r.outputs()) checkFile(problems, r, o.file(), o.sha256());
            for (RunRecord.StoredInput in : r.inputs().values()) if (in.file() != null) checkFile(problems, r, in.file(), in.sha256());
        }
        return problems;
    }

    private void checkFile(List<String> problems, RunRecord r, String rel, String sha) {
        Path p;
        try {
            p = file(r, rel);
        } catch (RunStoreException e) {
            problems.add(e.getMessage());
            return;
        }
        try {
            String actual = StoreFiles.sha256(dir, p);
            if (!actual.equals(sha)) problems.add("run " + r.id() + ": " + p + " has changed (SHA-256 " + actual.substring(0, 12) + "…, recorded " + sha.substring(0, 12) + "…)");
        } catch (IOException e) {
            problems.add("run " + r.id() + ": " + p + " is missing or unreadable (" + shortMessage(e) + ")");
        }
    }

    /** Rewrites the index from the run folders (under the lock); returns the problems met (damaged runs are left out). */
    public List<String> reindex() {
        try {
            return withLock(() -> {
                List<String> problems = new ArrayList<>();
                StringBuilder sb = new StringBuilder();
                for (String id : runFolders()) {
                    try {
                        sb.append(JSON.writeValueAsString(Entry.of(get(id), notesOrNone(id, problems)))).append('\n');
                    } catch (RunStoreException e) {
                        problems.add(e.getMessage());
                    }
                }
                Path tmp = io.jdiffusion.pipelines.image.OutputFile.createUnique(dir.resolve("tmp"), "index-", ".jsonl");
                writeFully(tmp, sb.toString().getBytes(StandardCharsets.UTF_8));
                move(tmp, dir.resolve(INDEX), true);
                return problems;
            });
        } catch (IOException e) {
            throw new RunStoreException(null, "cannot rewrite the index of " + dir + ": " + e, e);
        }
    }

    private static void move(Path from, Path to, boolean replace) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    // ---------------------------------------------------------------- helpers

    static String checkId(String id) {
        if (id == null || !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("'" + id + "' is not a run id (letters, digits, '.', '_' and '-')");
        }
        return id;
    }

    private static String extension(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        String ext = dot < 0 ? "" : n.substring(dot).toLowerCase(java.util.Locale.ROOT);
        return ext.matches("\\.[a-z0-9]{1,5}") ? ext : ".bin";
    }

    /**
     * Weight file → hash per model role ("base/unet/…", "refiner/unet/…"). The generation record
     * merges the base's and the refiner's hashes under the same relative names (the refiner's win),
     * so they are taken again from the models it names; hashes are cached per file in this JVM,
     * so this costs nothing after a run. Falls back to the record's map when a model cannot be opened.
     */
    static Map<String, String> weightHashes(GenerationRecord g) {
        Map<String, String> out = new TreeMap<>();
        try {
            if (g.models() == null || g.models().isEmpty()) throw new IllegalArgumentException("no models");
            for (Map.Entry<String, String> m : g.models().entrySet()) {
                if (io.jdiffusion.pipelines.Reproduction.isVaeRole(m.getKey())) continue; // hashed with the model that used it
                try (SdxlModel model = SdxlModel.load(m.getValue(), null, CpuBackend.INSTANCE)) { // opens configs only
                    io.jdiffusion.pipelines.Reproduction.withRecordedVae(model, g.models(), m.getKey());
                    SdxlModel used = m.getKey().equals("base") && g.unet() != null ? model.withUnet(Path.of(g.unet())) : model;
                    used.weightHashes().forEach((k, v) -> out.put(m.getKey() + "/" + k, v));
                }
            }
            return out;
        } catch (RuntimeException e) {
            return g.weightHashes() == null ? Map.of() : new TreeMap<>(g.weightHashes());
        }
    }

    static Map<String, String> environment(GenerationRecord g, Backend backend) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("backend", g.backend());
        env.put("device", backend != null ? device(backend) : g.backend() != null && g.backend().toLowerCase().startsWith("cpu")
                ? "cpu (" + Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.arch") + ")" : g.backend());
        env.put("library", g.library());
        env.put("version", g.version());
        env.put("java", System.getProperty("java.runtime.version", Runtime.version().toString()));
        env.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        env.put("cpus", Integer.toString(Runtime.getRuntime().availableProcessors()));
        return env;
    }

    private static String device(Backend b) {
        String d = b.device().toString();
        return d.equals("cpu") ? "cpu (" + Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("os.arch") + ")" : d;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void writeFully(Path p, byte[] bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) ch.write(b);
            ch.force(true);
        }
    }

    private static String shortMessage(Exception e) {
        String m = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (m == null) m = e.getClass().getSimpleName();
        m = m.replace('\n', ' ');
        return m.length() > 160 ? m.substring(0, 160) + "…" : m;
    }

    private static void deleteTree(Path p) {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException ignored) {
            // a leftover staging folder in tmp/ is harmless: nothing reads tmp/
        }
    }
}
