package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The folder beside a compare page: the runs' files copied byte for byte, nothing from outside the store, replaced whole. */
class PageFilesTest {

    @Test
    void copiesTheRunsFilesAndNothingFromOutsideTheStore(@TempDir Path tmp) throws Exception {
        RunStore store = RunStore.open(TinySweep.copy());
        List<RunRecord> runs = TinySweep.runs().stream().map(r -> store.get(r.id())).toList();
        RunRecord linked = runs.get(1);
        Path out = store.runDir(linked.id()).resolve("outputs/0.png");
        Files.delete(out);
        Files.createSymbolicLink(out, Path.of("/etc/passwd"));
        Path page = CompareReport.write(store, runs, List.of(), tmp.resolve("out/page.html"), false);
        Path files = tmp.resolve("out/page_files");
        for (RunRecord r : runs) {
            Path copy = files.resolve("runs").resolve(r.id());
            assertArrayEquals(Files.readAllBytes(store.runDir(r.id()).resolve("run.json")), Files.readAllBytes(copy.resolve("run.json")));
            // an input shared by runs (same content) is copied once, from the first run that used it
            assertEquals(r == runs.getFirst(), Files.exists(copy.resolve("inputs/mask.png")), r.id());
            if (r != linked) assertArrayEquals(Files.readAllBytes(store.file(r, r.outputs().getFirst().file())), Files.readAllBytes(copy.resolve("outputs/0.png")));
        }
        assertArrayEquals(Files.readAllBytes(TinySweep.mask()), Files.readAllBytes(files.resolve("runs").resolve(runs.getFirst().id()).resolve("inputs/mask.png")));
        assertFalse(Files.exists(files.resolve("runs").resolve(linked.id()).resolve("outputs/0.png")), "a link out of the store is not copied");
        assertTrue(Files.readString(page).contains("\"outputs\":[\"missing:"), "the page shows it as missing");
        // written again for fewer runs: the folder is replaced whole, no staging folder is left
        CompareReport.write(store, runs.subList(0, 2), List.of(), page, false);
        try (Stream<Path> s = Files.list(files.resolve("runs"))) {
            assertEquals(2, s.count());
        }
        try (Stream<Path> s = Files.list(tmp.resolve("out"))) {
            assertEquals(List.of("page.html", "page_files"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // a page_files that is a link is refused, and what it points to is untouched
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.writeString(elsewhere.resolve("keep.txt"), "keep");
        Path page2 = tmp.resolve("out/other.html");
        Files.createSymbolicLink(tmp.resolve("out/other_files"), elsewhere);
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> CompareReport.write(store, runs, List.of(), page2, false));
        assertTrue(e.getMessage().contains("other_files (the page's files) is a link or not a folder; refused"), e.getMessage());
        assertEquals("keep", Files.readString(elsewhere.resolve("keep.txt")));
        assertFalse(Files.exists(page2));
    }
}
