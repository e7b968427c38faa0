package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.Reproduction;
import io.jdiffusion.pipelines.StepListener;
import io.jdiffusion.pipelines.image.ImageMetadata;
import io.jdiffusion.pipelines.image.PngWriter;

import java.nio.file.Path;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Regenerates a stored run from its record: the inputs come from the copies in the store (checked
 * against their recorded pixel hashes), everything else from the {@link GenerationRecord}, and the
 * PNGs are encoded with the run's own record so that, when the pixels match, the bytes match the
 * stored outputs. Models are opened as the record names them, on the default backend.
 */
public final class RunReproduction {
    private RunReproduction() {}

    /**
     * @param pngs      the regenerated PNG files' bytes, one per output
     * @param identical per output: same bytes (SHA-256) as the stored copy
     * @param notes     why the result may differ (other backend, changed weights, …); empty when nothing did
     */
    public record Result(RunRecord run, List<byte[]> pngs, List<Boolean> identical, List<String> notes) {
        public boolean allIdentical() { return !identical.isEmpty() && identical.stream().allMatch(b -> b); }
    }

    public static Result reproduce(RunStore store, String idOrPrefix, StepListener listener) {
        RunRecord run = store.find(idOrPrefix);
        GenerationRecord g = run.generation();
        Map<String, GenerationRecord.InputFile> fromStore = new LinkedHashMap<>();
        if (g.inputs() != null) {
            for (Map.Entry<String, GenerationRecord.InputFile> e : g.inputs().entrySet()) {
                RunRecord.StoredInput s = run.inputs() == null ? null : run.inputs().get(e.getKey());
                if (s == null || s.file() == null) {
                    throw new RunStoreException(run.id(), "run " + run.id() + " cannot be reproduced: its " + e.getKey()
                            + " was not kept in the store (it was given in memory" + (s != null && s.original() != null ? " or " + s.original() + " was missing" : "") + ")");
                }
                var copy = store.file(run, s.file());
                try {
                    StoreFiles.checkReadable(store.dir(), copy, StoreFiles.MAX_STORED_FILE_BYTES); // inside the store, a regular file
                } catch (java.io.IOException ex) {
                    throw new RunStoreException(run.id(), "run " + run.id() + " cannot be reproduced: the stored " + e.getKey() + " " + copy
                            + " is unusable (" + ex.getMessage() + ")");
                }
                fromStore.put(e.getKey(), new GenerationRecord.InputFile(copy.toString(), e.getValue().pixelSha256()));
            }
        }
        GenerationRecord rerun = g.withInputs(fromStore);
        GenerationResult result;
        try (io.jdiffusion.pipelines.GenerationPipeline<?> p = Reproduction.pipeline(rerun)) {
            if (listener != null) p.onStep(listener);
            result = p.run();
        }
        // The rerun's record names the store copies; put the original paths back, then compare the rest.
        GenerationRecord again = result.record().withInputs(g.inputs());
        List<String> notes = new ArrayList<>(differences(g, again));
        GenerationRecord written = notes.isEmpty() ? g : again;
        String carriedId = storedOutputsCarryRunId(store, run) ? run.id() : null; // runs recorded before ids were embedded have none
        List<byte[]> pngs = new ArrayList<>();
        List<Boolean> identical = new ArrayList<>();
        for (int i = 0; i < result.images().size(); i++) {
            byte[] png = PngWriter.encode(result.images().get(i), RunStore.pngText(written, carriedId));
            pngs.add(png);
            RunRecord.StoredOutput o = i < run.outputs().size() ? run.outputs().get(i) : null;
            identical.add(o != null && o.sha256().equals(RunStore.sha256(png)));
        }
        if (result.images().size() != run.outputs().size()) {
            notes.add("the run stored " + run.outputs().size() + " outputs, the rerun made " + result.images().size());
        }
        return new Result(run, pngs, identical, notes);
    }

    private static boolean storedOutputsCarryRunId(RunStore store, RunRecord run) {
        if (run.outputs().isEmpty()) return true;
        Path first = store.file(run, run.outputs().getFirst().file());
        try {
            StoreFiles.checkReadable(store.dir(), first, StoreFiles.MAX_STORED_FILE_BYTES);
            return run.id().equals(ImageMetadata.read(first).get(ImageMetadata.RUN_KEYWORD));
        } catch (java.io.IOException | RuntimeException e) {
            return true; // unreadable: the comparison reports it as different anyway
        }
    }

    /** What differs between the recorded generation and the rerun, in words. */
    static List<String> differences(GenerationRecord was, GenerationRecord now) {
        List<String> d = new ArrayList<>();
        if (!Objects.equals(was.backend(), now.backend())) d.add("recorded on backend " + was.backend() + ", rerun on " + now.backend());
        if (!Objects.equals(was.version(), now.version())) d.add("recorded with jdiffusion " + was.version() + ", rerun with " + now.version());
        if (!Objects.equals(was.weightHashes(), now.weightHashes())) {
            Map<String, String> a = was.weightHashes() == null ? Map.of() : was.weightHashes();
            Map<String, String> b = now.weightHashes() == null ? Map.of() : now.weightHashes();
            for (String k : a.keySet()) if (!Objects.equals(a.get(k), b.get(k))) d.add("weight file " + k + " changed (" + a.get(k) + " → " + b.get(k) + ")");
            for (String k : b.keySet()) if (!a.containsKey(k)) d.add("weight file " + k + " was not in the recorded run");
        }
        if (d.isEmpty() && !was.equals(now)) d.add("the rerun's record differs from the stored one");
        return d;
    }
}
