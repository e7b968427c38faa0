package io.jdiffusion.cli;

import io.jdiffusion.tensor.testing.ChildJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The command line as its own process with the default log settings (the test JVM's warn level and
 * backend choice are not passed on): --quiet prints nothing on stderr; a plain run on the CPU does not
 * log where it looked for CUDA.
 */
class QuietTest {
    @TempDir
    Path tmp;

    private record Output(int status, String out, String err) {}

    private Output run(List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(ChildJvm.command(Main.class.getName(), false, args));
        cmd.removeIf(a -> a.startsWith("-Dorg.slf4j.simpleLogger.defaultLogLevel=") || a.startsWith("-Djdiffusion.backend="));
        Path out = tmp.resolve("stdout.txt"), err = tmp.resolve("stderr.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "finishes");
        return new Output(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void quietPrintsNothingButErrorsAndAPlainRunDoesNotLogTheCudaSearch() throws Exception {
        Path store = tmp.resolve("store");
        List<String> quiet = HostileCli.txt2img(HostileCli.base(), tmp.resolve("q.png"), "--runs", store.toString());
        Output q = run(quiet);
        assertEquals(0, q.status(), q.err());
        assertEquals("", q.err(), "--quiet: nothing on stderr");
        assertEquals(tmp.resolve("q.png") + "\n", q.out(), "stdout lists the file written");

        List<String> plain = new ArrayList<>(quiet);
        plain.remove("--quiet");
        plain.set(plain.indexOf(tmp.resolve("q.png").toString()), tmp.resolve("p.png").toString());
        Output p = run(plain);
        assertEquals(0, p.status(), p.err());
        assertTrue(p.err().contains("recorded run ") && p.err().contains("step 2/2"), "a plain run shows progress and the run: " + p.err());
        assertFalse(p.err().contains("CUDA not usable") || p.err().contains("libcuda"), "no CUDA search on stderr: " + p.err());

        Output bad = run(List.of("txt2img", "--model", HostileCli.base().toString(), "-p", "x", "--steps", "0", "--quiet", "-o",
                tmp.resolve("bad.png").toString()));
        assertEquals(2, bad.status());
        assertTrue(bad.err().startsWith("jdiffusion: --steps"), "errors still print under --quiet: " + bad.err());
    }
}
