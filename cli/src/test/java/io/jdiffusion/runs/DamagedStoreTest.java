package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A corrupted or missing record gives a clear error naming it; the rest of the store stays readable. */
class DamagedStoreTest {

    @Test
    void corruptedAndMissingRunsAreNamedAndTheRestStaysReadable(@TempDir Path tmp) throws Exception {
        Path dir = TinySweep.copy();
        RunStore store = RunStore.open(dir);
        List<String> ids = store.list().runs().stream().map(RunStore.Entry::id).toList();
        assertEquals(8, ids.size());
        String corrupt = ids.get(2), missing = ids.get(5), unindexed = ids.get(6);
        Path corruptFile = dir.resolve("runs").resolve(corrupt).resolve("run.json");
        byte[] json = Files.readAllBytes(corruptFile);
        Files.write(corruptFile, java.util.Arrays.copyOf(json, json.length / 2)); // torn write
        TinySweep.deleteTree(dir.resolve("runs").resolve(missing));
        // an index line that is garbage, and one run the index lacks (a writer killed before appending)
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("index.jsonl")));
        lines.set(0, "{\"id\": \"20");
        lines.removeIf(l -> l.contains(unindexed));
        Files.write(dir.resolve("index.jsonl"), lines, StandardCharsets.UTF_8);

        var e = assertThrows(RunStoreException.class, () -> store.get(corrupt));
        assertEquals(corrupt, e.runId());
        assertTrue(e.getMessage().contains(corrupt) && e.getMessage().contains("damaged") && e.getMessage().contains(corruptFile.toString()),
                e.getMessage());
        e = assertThrows(RunStoreException.class, () -> store.get(missing));
        assertTrue(e.getMessage().contains(missing) && e.getMessage().contains("not found"), e.getMessage());

        RunStore.Listing l = store.list();
        List<String> listed = l.runs().stream().map(RunStore.Entry::id).toList();
        assertFalse(listed.contains(missing));
        assertTrue(listed.contains(ids.get(0)), "the run of the garbled index line is listed from its folder");
        assertTrue(listed.contains(unindexed), "the unindexed run is listed from its folder");
        assertTrue(l.problems().stream().anyMatch(p -> p.contains(missing) && p.contains("missing")), l.problems().toString());
        assertTrue(l.problems().stream().anyMatch(p -> p.contains("index.jsonl line 1")), l.problems().toString());
        for (String id : ids) {
            if (id.equals(corrupt) || id.equals(missing)) continue;
            RunRecord r = store.get(id); // everything else still reads
            assertEquals(TinySweep.EXPERIMENT, r.experiment());
        }
        List<String> problems = store.verify();
        assertTrue(problems.stream().anyMatch(p -> p.contains(corrupt)), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains(missing)), problems.toString());

        // the compare page shows the readable runs and names the damaged one
        List<RunRecord> readable = new ArrayList<>();
        List<String> unreadable = new ArrayList<>();
        for (RunStore.Entry en : l.runs()) {
            try {
                readable.add(store.get(en.id()));
            } catch (RunStoreException ex) {
                unreadable.add(ex.getMessage());
            }
        }
        assertEquals(6, readable.size());
        assertEquals(1, unreadable.size());
        Path page = CompareReport.write(store, readable, unreadable, tmp.resolve("c.html"), false);
        String html = Files.readString(page);
        assertTrue(html.contains(corrupt), "the page names the damaged run");

        // reindex drops the damaged run and restores the rest
        List<String> reindexProblems = store.reindex();
        assertEquals(1, reindexProblems.size());
        assertTrue(reindexProblems.getFirst().contains(corrupt));
        assertEquals(6, Files.readAllLines(dir.resolve("index.jsonl")).size());
        RunStore.Listing after = store.list();
        assertEquals(6, after.runs().size());
        assertEquals(1, after.problems().size(), after.problems().toString());
        assertTrue(after.problems().getFirst().contains(corrupt));
        // the CLI lists the readable runs and warns about the damaged one (exit 0), verify exits 1
        assertEquals(0, io.jdiffusion.cli.Main.execute("runs", "list", "--runs", dir.toString()));
        assertEquals(1, io.jdiffusion.cli.Main.execute("runs", "verify", "--runs", dir.toString()));
    }

    @Test
    void badIdsAreRejected() {
        RunStore store = RunStore.open(TinySweep.store());
        var e = assertThrows(IllegalArgumentException.class, () -> store.get("../etc"));
        assertTrue(e.getMessage().contains("not a run id"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> store.find("2"), "a prefix shared by all runs is ambiguous");
    }
}
