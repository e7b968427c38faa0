package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.tensor.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two other JVMs and two threads of this one write one store at the same moment; nothing is lost. */
class ConcurrentWritersTest {
    private static final int PER_WRITER = 40;

    @Test
    void twoProcessesAndTwoThreadsWritingAtOnceLoseNothing(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("store");
        Path go = tmp.resolve("go");
        List<Process> procs = new ArrayList<>();
        for (String w : List.of("jvm-a", "jvm-b")) procs.add(start(dir, w, go, tmp.resolve(w + ".log")));
        GenerationResult r = StoreWriterMain.generate(7);
        RunStore store = RunStore.open(dir);
        // wait until both children have generated and opened the store, so that all four write together
        long deadline = System.currentTimeMillis() + 180_000;
        for (String w : List.of("jvm-a", "jvm-b")) {
            while (!Files.readString(tmp.resolve(w + ".log")).contains("ready " + w)) {
                for (Process p : procs) if (!p.isAlive()) throw new AssertionError(w + " died: " + Files.readString(tmp.resolve(w + ".log")));
                if (System.currentTimeMillis() > deadline) throw new AssertionError(w + " never got ready");
                Thread.sleep(20);
            }
        }
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> threads = new ArrayList<>();
        for (String w : List.of("thread-a", "thread-b")) {
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    StoreWriterMain.write(store, r, w, PER_WRITER);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            t.start();
            threads.add(t);
        }
        Files.createFile(go);
        start.countDown();
        for (Thread t : threads) t.join(120_000);
        for (int i = 0; i < procs.size(); i++) {
            Process p = procs.get(i);
            Path log = tmp.resolve(i == 0 ? "jvm-a.log" : "jvm-b.log");
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
            assertEquals(0, p.exitValue(), "child exit status; log: " + Files.readString(log));
        }
        assertNull(failure.get());

        int total = 4 * PER_WRITER;
        RunStore.Listing l = store.list();
        assertEquals(List.of(), l.problems());
        assertEquals(total, l.runs().size());
        List<String> index = Files.readAllLines(dir.resolve("index.jsonl"));
        assertEquals(total, index.size(), "one whole index line per run");
        Set<String> seen = new HashSet<>();
        for (RunStore.Entry e : l.runs()) {
            RunRecord run = store.get(e.id());
            assertTrue(seen.add(run.tags().get(0) + "/" + run.tags().get(1)), "each (writer, n) once: " + run.tags());
        }
        // the two processes really wrote at the same time: their first-to-last record intervals overlap
        java.util.Map<String, List<java.time.Instant>> times = new java.util.HashMap<>();
        for (RunStore.Entry e : l.runs()) {
            times.computeIfAbsent(e.tags().get(0), k -> new ArrayList<>()).add(java.time.Instant.parse(e.created()));
        }
        var a = times.get("writer=jvm-a");
        var b = times.get("writer=jvm-b");
        assertTrue(java.util.Collections.min(a).isBefore(java.util.Collections.max(b))
                && java.util.Collections.min(b).isBefore(java.util.Collections.max(a)), "the two JVMs' writes overlapped in time");
        for (String w : List.of("jvm-a", "jvm-b", "thread-a", "thread-b")) {
            for (int i = 0; i < PER_WRITER; i++) assertTrue(seen.contains("writer=" + w + "/n=" + i), "lost " + w + " n=" + i);
        }
        assertEquals(List.of(), store.verify());
        try (var s = Files.list(dir.resolve("tmp"))) {
            assertEquals(0, s.count(), "no staging folders left behind");
        }
    }

    private static Process start(Path dir, String writer, Path go, Path log) throws Exception {
        List<String> cmd = ChildJvm.command(StoreWriterMain.class.getName(), true,
                List.of(dir.toString(), writer, Integer.toString(PER_WRITER), go.toString()));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
