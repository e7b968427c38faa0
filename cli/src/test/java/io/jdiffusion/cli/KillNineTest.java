package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.PngText;
import io.jdiffusion.pipelines.image.PngWriter;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.tensor.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code kill -9} of the command line at random moments (seeded, so a failure can be replayed):
 * the named output is either absent or a whole PNG with its record, the run store stays readable
 * and verifies, and the next writer still works. A killed writer may leave a hidden temporary file
 * next to the output or a staging folder in the store's tmp/ (removed after a day); neither is
 * ever read as output.
 */
class KillNineTest {
    @TempDir
    Path tmp;

    private Process start(Path out, Path store) throws Exception {
        List<String> cmd = ChildJvm.command(Main.class.getName(), true,
                HostileCli.txt2img(HostileCli.base(), out, "--runs", store.toString(), "--steps", "6"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile()).start();
    }

    @Test
    void killedAtRandomMomentsLeavesNoPartialOutputAndAReadableStore() throws Exception {
        Path store = tmp.resolve("store");
        long t0 = System.nanoTime();
        Process whole = start(tmp.resolve("whole.png"), store);
        assertTrue(whole.waitFor(120, TimeUnit.SECONDS), "a whole run finishes");
        assertEquals(0, whole.exitValue(), Files.readString(tmp.resolve("child.log")));
        long runMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        Random random = new Random(16);
        for (int k = 0; k < 5; k++) {
            Path out = tmp.resolve("killed-" + k + ".png");
            Process p = start(out, store);
            long delay = 100 + (long) (random.nextDouble() * runMs * 1.1);
            if (!p.waitFor(delay, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly(); // SIGKILL on Unix: no shutdown hooks, no finally blocks
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            }
            if (Files.exists(out)) {
                // then it is whole: decodes, and carries its record
                ImageFiles.read(out);
                assertTrue(PngText.read(out).containsKey(PngWriter.JDIFFUSION_KEYWORD), "killed after " + delay + " ms: " + out);
            }
            RunStore s = RunStore.open(store);
            assertEquals(List.of(), s.list().problems(), "killed after " + delay + " ms");
            assertEquals(List.of(), s.verify(), "killed after " + delay + " ms");
        }
        CommandLineTest.Result after = HostileCli.ok(HostileCli.txt2img(HostileCli.base(), tmp.resolve("after.png"), "--runs", store.toString()));
        HostileCli.assertClean(after);
        assertEquals(List.of(), RunStore.open(store).verify());
    }
}
