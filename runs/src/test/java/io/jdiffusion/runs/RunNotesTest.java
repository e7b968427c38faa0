package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stars and notes: read-modify-write under the store lock, so concurrent writers keep each other's change; damage is named. */
class RunNotesTest {

    @Test
    void aStarAndANoteWrittenAtOnceAreBothKept() throws Exception {
        RunStore store = RunStore.open(TinySweep.copy());
        List<String> ids = TinySweep.runs().stream().map(RunRecord::id).toList();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 10; round++) {
                String id = ids.get(round % ids.size());
                boolean star = round % 2 == 0;
                String text = "round " + round;
                CountDownLatch go = new CountDownLatch(1);
                Future<?> a = pool.submit(() -> { go.await(); return store.annotate(id, star, null); });
                Future<?> b = pool.submit(() -> { go.await(); return store.annotate(id, null, text); });
                go.countDown();
                a.get();
                b.get();
                RunNotes n = store.notes(id);
                assertEquals(star, n.starred(), "round " + round);
                assertEquals(text, n.note(), "round " + round);
                // the index's last line for the run agrees with the folder
                RunStore.Entry e = store.list().runs().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow();
                assertEquals(n.starred(), e.notesOrNone().starred());
                assertEquals(n.note(), e.notesOrNone().note());
            }
        } finally {
            pool.shutdownNow();
        }
        try (var s = Files.list(store.runDir(ids.getFirst()))) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
    }

    @Test
    void damagedNotesAreNamedAndRewritten() throws Exception {
        RunStore store = RunStore.open(TinySweep.copy());
        String id = TinySweep.runs().getFirst().id();
        Path f = store.runDir(id).resolve("notes.json");
        Files.writeString(f, "{\"starred\": tru");
        RunStoreException e = assertThrows(RunStoreException.class, () -> store.notes(id));
        assertTrue(e.getMessage().contains("run " + id + ": its notes " + f + " are damaged"), e.getMessage());
        RunStore.Listing l = store.reindex().isEmpty() ? null : store.list();
        assertTrue(l != null && l.runs().size() == 8, "reindex reports the damaged notes and keeps the run");
        assertTrue(store.annotate(id, true, "fixed").starred());
        assertEquals("fixed", store.notes(id).note());
        assertThrows(IllegalArgumentException.class, () -> store.annotate(id, null, "\u001b[31mred"));
    }
}
