package io.jdiffusion.runs;

import io.jdiffusion.cli.Main;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.PngWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code reproduce <run-id>} regenerates a stored output bit for bit. */
class ReproduceTest {

    private static RunRecord cell(String refiner, String dilate) {
        return TinySweep.runs().stream().filter(r -> r.sweep().cell().get("seed").equals("2")
                && r.sweep().cell().get("refiner").equals(refiner) && r.sweep().cell().get("dilate").equals(dilate)).findFirst().orElseThrow();
    }

    @Test
    void reproducingRunsGivesByteIdenticalPngs() throws Exception {
        RunStore store = RunStore.open(TinySweep.store());
        TinySweep.backend();
        for (RunRecord run : new RunRecord[] {cell("0.5", "3x1"), cell("off", "off")}) {
            RunReproduction.Result r = RunReproduction.reproduce(store, run.id(), null);
            assertEquals(java.util.List.of(), r.notes(), "nothing differs for " + run.id());
            byte[] stored = Files.readAllBytes(store.file(run, run.outputs().getFirst().file()));
            assertArrayEquals(stored, r.pngs().getFirst(), "PNG bytes of " + run.id());
            assertTrue(r.allIdentical());
        }
    }

    @Test
    void cliReproducesARunIdAndAPrefix(@TempDir Path tmp) throws Exception {
        TinySweep.backend();
        RunRecord run = cell("0.5", "off");
        RunStore store = RunStore.open(TinySweep.store());
        byte[] stored = Files.readAllBytes(store.file(run, run.outputs().getFirst().file()));
        Path out = tmp.resolve("again.png");
        assertEquals(0, Main.execute("reproduce", run.id(), "--runs", store.dir().toString(), "-o", out.toString(), "--quiet"));
        assertArrayEquals(stored, Files.readAllBytes(out));
        Path byPrefix = tmp.resolve("prefix.png");
        String prefix = run.id().substring(0, run.id().length() - 6); // unique: 24 random bits remain in the prefix
        assertEquals(0, Main.execute("reproduce", prefix, "--runs", store.dir().toString(), "-o", byPrefix.toString(), "--quiet"));
        assertArrayEquals(stored, Files.readAllBytes(byPrefix));
        // the stored PNG itself still reproduces through the PNG route (its record names the original inputs)
        Path out2 = tmp.resolve("from-png.png");
        assertEquals(0, Main.execute("reproduce", store.file(run, run.outputs().getFirst().file()).toString(), "-o", out2.toString(), "--quiet"));
        assertArrayEquals(stored, Files.readAllBytes(out2));
        // an unknown id is a usage error naming it
        assertEquals(2, Main.execute("reproduce", "no-such-run", "--runs", store.dir().toString(), "-o", out.toString(), "--quiet"));
    }

    @Test
    void aChangedInputCopyIsReportedNotSilentlyUsed() throws Exception {
        Path dir = TinySweep.copy();
        RunStore store = RunStore.open(dir);
        RunRecord run = cell("off", "3x1");
        Path maskCopy = store.file(run, run.inputs().get("mask").file());
        Image m = ImageFiles.read(maskCopy);
        byte[] px = m.data().clone();
        px[0] = (byte) (px[0] ^ 0xFF);
        PngWriter.write(maskCopy, new Image(m.width(), m.height(), m.channels(), px), Map.of());
        var e = assertThrows(IllegalArgumentException.class, () -> RunReproduction.reproduce(store, run.id(), null));
        assertTrue(e.getMessage().contains("mask") && e.getMessage().contains("changed"), e.getMessage());
        assertTrue(store.verify().stream().anyMatch(p -> p.contains(run.id()) && p.contains("mask")), "verify names the changed mask");
    }
}
