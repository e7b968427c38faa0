package io.jdiffusion.tensor.cpu;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API GEMM kernel is opt-in (the incubator module makes the JVM print a warning at
 * start), so the test JVM runs without it and this test checks it in a child JVM that adds the
 * module, with the child's output captured rather than printed.
 */
class VectorKernelTest {
    @Test
    void kernelFollowsTheBootLayer() {
        boolean module = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        boolean off = "false".equals(System.getProperty("jdiffusion.vector"));
        assertEquals(module && !off ? "vector-api" : "auto-vectorised", CpuBackend.gemmKernel());
        if (!module) {
            assertThrows(IllegalStateException.class, () -> CpuGemm.sgemm(1, 1, 1, new float[1], 0, 1, new float[1], 0, 1, false,
                    new float[1], 0, 1, false, CpuGemm.Impl.VECTOR), "asking for the vector kernel without the module is an error");
        }
    }

    @Test
    void vectorKernelAgreesWithNaiveLoopsInAChildJvm() throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "--add-modules", "jdk.incubator.vector", "-Xmx1g",
                "-cp", System.getProperty("java.class.path"), VectorKernelCheck.class.getName()))
                .redirectErrorStream(true).start();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) p.destroyForcibly();
        assertTrue(done, "child JVM timed out; output so far:\n" + out);
        assertEquals(0, p.exitValue(), "child JVM failed:\n" + out);
        assertTrue(out.contains("vector-api checks passed"), out);
        assertTrue(out.contains("Using incubator modules"), "the child really ran with the incubator module:\n" + out);
    }
}
