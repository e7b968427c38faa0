package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.Reproduction;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the inputs to rerun the record of an image (PNG or JPEG) written by jdiffusion: the files the
 * record names when they still hold the recorded pixels, otherwise the copies the run store kept of
 * them — found through the run id the image carries — when those hold the recorded pixels. Each
 * substitution is reported in words, so the user knows which copy was used.
 */
public final class ImageReproduction {
    private ImageReproduction() {}

    /** The record to rerun (inputs possibly replaced by store copies) and what was replaced. */
    public record Inputs(GenerationRecord rerun, List<String> notes) {}

    /**
     * @param record the record read from the image
     * @param runId  the run id the image carries, or null
     * @param store  the run store to look the run up in, or null when there is none
     * @throws IllegalArgumentException naming the input when neither the original nor a stored copy matches
     */
    public static Inputs resolve(GenerationRecord record, String runId, RunStore store) {
        Map<String, GenerationRecord.InputFile> named = record.inputs() == null ? Map.of() : record.inputs();
        Map<String, GenerationRecord.InputFile> use = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        RunRecord run = null;
        for (Map.Entry<String, GenerationRecord.InputFile> e : named.entrySet()) {
            String role = e.getKey();
            GenerationRecord.InputFile f = e.getValue();
            String problem = problem(f == null || f.path() == null ? null : Path.of(f.path()), f == null ? null : f.pixelSha256());
            if (problem == null) {
                use.put(role, f);
                continue;
            }
            if (runId == null || store == null) {
                throw new IllegalArgumentException(role + " file " + problem + (runId == null
                        ? ", and the image carries no run id to take the run store's copy from"
                        : ", and there is no run store to take run " + runId + "'s copy from (use --runs DIR)"));
            }
            if (run == null) {
                try {
                    run = store.get(runId);
                } catch (RunStoreException ex) {
                    throw new IllegalArgumentException(role + " file " + problem + ", and the image's run " + runId
                            + " is not in the run store " + store.dir() + " (use --runs DIR)", ex);
                }
            }
            RunRecord.StoredInput s = run.inputs().get(role);
            if (s == null || s.file() == null) {
                throw new IllegalArgumentException(role + " file " + problem + ", and run " + runId + " kept no copy of it");
            }
            Path copy = store.file(run, s.file());
            try {
                StoreFiles.checkReadable(store.dir(), copy, StoreFiles.MAX_STORED_FILE_BYTES);
            } catch (IOException ex) {
                throw new IllegalArgumentException(role + " file " + problem + ", and the stored copy " + copy + " is unusable (" + ex.getMessage() + ")");
            }
            String copyProblem = problem(copy, f.pixelSha256());
            if (copyProblem != null) {
                throw new IllegalArgumentException(role + " file " + problem + ", and the stored copy " + copyProblem);
            }
            use.put(role, new GenerationRecord.InputFile(copy.toString(), f.pixelSha256()));
            notes.add(role + ": " + problem + "; used the run store's copy " + copy + " (run " + runId + "), whose pixels match the record");
        }
        return new Inputs(named.isEmpty() ? record : record.withInputs(use), notes);
    }

    /** Why a file cannot stand for a recorded input (in words, starting with its path), or null when it can. */
    private static String problem(Path p, String pixelSha256) {
        if (p == null) return "(no path recorded)";
        if (!Files.isRegularFile(p)) return p + " is missing";
        String hash;
        try {
            hash = Reproduction.pixelHash(p);
        } catch (RuntimeException e) {
            return p + " is unreadable (" + e.getMessage() + ")";
        }
        return hash.equals(pixelSha256) ? null : p + " has changed since the run (other pixels)";
    }
}
