package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Disk cache keys and round trips, and that the kernel sources are present and NVRTC-clean. */
class KernelCacheTest {
    @Test
    void keyChangesWithEverythingThatChangesTheImage() {
        Map<String, String> h = Map.of("common.cuh", "// header");
        String base = KernelCache.key("src", h, "sm_90", "13.0", List.of());
        assertEquals(64, base.length());
        assertEquals(base, KernelCache.key("src", Map.of("common.cuh", "// header"), "sm_90", "13.0", List.of()));
        assertNotEquals(base, KernelCache.key("src2", h, "sm_90", "13.0", List.of()));
        assertNotEquals(base, KernelCache.key("src", Map.of("common.cuh", "// header 2"), "sm_90", "13.0", List.of()));
        assertNotEquals(base, KernelCache.key("src", h, "sm_80", "13.0", List.of()));
        assertNotEquals(base, KernelCache.key("src", h, "sm_90", "12.8", List.of()));
        assertNotEquals(base, KernelCache.key("src", h, "sm_90", "13.0", List.of("-lineinfo")));
        // field boundaries matter: ("ab","c") and ("a","bc") differ
        assertNotEquals(KernelCache.key("ab", Map.of(), "c", "1", List.of()), KernelCache.key("a", Map.of(), "bc", "1", List.of()));
    }

    @Test
    void storesAndLoadsImages(@TempDir Path dir) throws Exception {
        KernelCache c = new KernelCache(dir.resolve("kernels"));
        String key = KernelCache.key("s", Map.of(), "sm_90", "13.0", List.of());
        assertTrue(c.load("norm", key).isEmpty());
        byte[] bin = {0x7f, 'E', 'L', 'F', 1, 2, 3};
        c.store("norm", key, new Nvrtc.Image(bin, true, "sm_90"));
        Nvrtc.Image back = c.load("norm", key).orElseThrow();
        assertArrayEquals(bin, back.bytes());
        assertTrue(back.isCubin());
        assertTrue(Files.exists(dir.resolve("kernels/norm-" + key + ".cubin")));
        String key2 = KernelCache.key("s", Map.of(), "compute_90", "13.0", List.of());
        c.store("norm", key2, new Nvrtc.Image("// ptx\0".getBytes(), false, "compute_90"));
        assertTrue(!c.load("norm", key2).orElseThrow().isCubin());
    }

    @Test
    void anUnwritableCacheOnlyLogs(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("not-a-dir");
        Files.writeString(file, "x");
        KernelCache c = new KernelCache(file.resolve("kernels"));
        c.store("norm", "k", new Nvrtc.Image(new byte[] {1}, true, "sm_90"));   // must not throw
        assertTrue(c.load("norm", "k").isEmpty());
    }

    @Test
    void kernelSourcesAreOnTheClasspathWithoutHostIncludes() {
        for (String f : List.of("common.cuh", "elementwise.cu", "norm.cu", "shape.cu", "attention.cu", "flash_mma.cu", "conv_mma.cu")) {
            String src = CudaBackend.readResource(f);
            for (String line : src.split("\n")) {
                if (line.startsWith("#include")) {
                    assertEquals("#include \"common.cuh\"", line.trim(), f + " includes something NVRTC cannot see: " + line);
                }
            }
            if (f.endsWith(".cu")) assertTrue(src.contains("extern \"C\" __global__"), f + " has no extern \"C\" kernels");
        }
    }
}
