package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `runs star` and `runs note`: saved in the run's folder, shown by list and show, found by --where, kept by reindex. */
class StarNoteCliTest {

    private static List<String> rows(String listing) {
        return listing.lines().filter(l -> l.startsWith("20")).toList();
    }

    @Test
    void aStarredAndNotedRunIsFoundNextWeek() throws Exception {
        Path dir = TinySweep.copy();
        String store = dir.toString();
        RunRecord chosen = TinySweep.runs().get(5), other = TinySweep.runs().get(2);
        byte[] record = Files.readAllBytes(dir.resolve("runs").resolve(chosen.id()).resolve("run.json"));

        var star = ImageRunIdTest.run("runs", "star", chosen.id().substring(0, 24), "--runs", store);
        assertEquals(0, star.status(), star.err());
        assertEquals("starred " + chosen.id(), star.out().strip());
        var note = ImageRunIdTest.run("runs", "note", chosen.id(), "for the client: crisp seam", "--runs", store);
        assertEquals(0, note.status(), note.err());
        // by the stored PNG too (the image leads back to its run)
        Path png = dir.resolve("runs").resolve(other.id()).resolve("outputs/0.png");
        assertEquals(0, ImageRunIdTest.run("runs", "note", png.toString(), "too dark", "--runs", store).status());

        var starred = ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "starred=1");
        assertEquals(0, starred.status(), starred.err());
        List<String> rows = rows(starred.out());
        assertEquals(1, rows.size(), starred.out());
        assertTrue(rows.getFirst().startsWith(chosen.id()) && rows.getFirst().contains(" * ")
                && rows.getFirst().endsWith("  for the client: crisp seam"), rows.getFirst());
        assertEquals(1, rows(ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "starred=yes").out()).size());
        assertEquals(7, rows(ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "starred=0").out()).size());
        var dark = ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "note=Too Dark");
        assertEquals(List.of(other.id()), rows(dark.out()).stream().map(l -> l.substring(0, other.id().length())).toList());

        var show = ImageRunIdTest.run("runs", "show", chosen.id(), "--runs", store);
        assertTrue(show.out().contains("starred     yes\nnote        for the client: crisp seam\n"), show.out());
        assertTrue(ImageRunIdTest.run("runs", "show", other.id(), "--runs", store).out().contains("starred     no\n"));

        // saved beside the record, which is unchanged; nothing half-written is left behind
        Path runDir = dir.resolve("runs").resolve(chosen.id());
        assertArrayEquals(record, Files.readAllBytes(runDir.resolve("run.json")));
        RunNotes saved = RunStore.JSON.readValue(runDir.resolve("notes.json").toFile(), RunNotes.class);
        assertTrue(saved.starred());
        assertEquals("for the client: crisp seam", saved.note());
        try (Stream<Path> s = Files.list(runDir)) {
            assertEquals(List.of("inputs", "notes.json", "outputs", "run.json"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // the index is a cache: rebuilt from the folders, the star and note are still there
        Files.delete(dir.resolve("index.jsonl"));
        assertEquals(0, ImageRunIdTest.run("runs", "reindex", "--runs", store).status());
        assertEquals(1, rows(ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "starred=1").out()).size());

        // unstar, clear the note
        assertEquals("unstarred " + chosen.id(), ImageRunIdTest.run("runs", "star", "--off", chosen.id(), "--runs", store).out().strip());
        assertEquals(0, ImageRunIdTest.run("runs", "note", chosen.id(), "", "--runs", store).status());
        var none = ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "starred=1");
        assertEquals(0, none.status(), none.err());
        assertEquals(0, rows(none.out()).size(), none.out());
        assertFalse(ImageRunIdTest.run("runs", "show", chosen.id(), "--runs", store).out().contains("note  "));
    }

    @Test
    void badNotesAndUnknownRunsAreRefusedByName() throws Exception {
        String store = TinySweep.copy().toString();
        String id = TinySweep.runs().getFirst().id();
        var control = ImageRunIdTest.run("runs", "note", id, "bell\u0007", "--runs", store);
        assertEquals(2, control.status());
        assertTrue(control.err().contains("note: control character U+0007"), control.err());
        var huge = ImageRunIdTest.run("runs", "note", id, "x".repeat(RunNotes.MAX_NOTE_CHARS + 1), "--runs", store);
        assertEquals(2, huge.status());
        assertTrue(huge.err().contains("note: 4001 characters, at most 4000 allowed"), huge.err());
        var unknown = ImageRunIdTest.run("runs", "star", id, "nope", "--runs", store);
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("run nope not found"), unknown.err());
        assertEquals(0, rows(ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "starred=1").out()).size(),
                "nothing starred when one of the runs named is unknown");
        // runs serve refuses what it cannot serve before it binds a port
        var port = ImageRunIdTest.run("runs", "serve", "--port", "70000", "--runs", store);
        assertEquals(2, port.status());
        assertTrue(port.err().contains("--port: 70000 is not a port"), port.err());
        var where = ImageRunIdTest.run("runs", "serve", "--where", "nosuchkey=1", "--runs", store);
        assertEquals(2, where.status());
        assertTrue(where.err().contains("--where: unknown key 'nosuchkey'"), where.err());
        for (String e : List.of(control.err(), huge.err(), unknown.err(), port.err(), where.err())) {
            assertFalse(e.contains("Exception") || e.contains("\tat "), e);
        }
    }
}
