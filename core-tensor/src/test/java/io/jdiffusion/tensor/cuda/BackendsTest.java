package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {
    @AfterEach
    void clearProperties() {
        System.clearProperty(Backends.PROPERTY);
        System.clearProperty("jdiffusion.cuda.dtype");
        System.clearProperty("jdiffusion.cuda.budget");
    }

    @Test
    void parsesChoicesAndRejectsOthersNamingTheSource() {
        assertEquals(Backends.Choice.CPU, Backends.parse(" CPU ", "x"));
        assertEquals(Backends.Choice.CUDA, Backends.parse("cuda", "x"));
        assertEquals(Backends.Choice.AUTO, Backends.parse("auto", "x"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.parse("tpu", "system property jdiffusion.backend"));
        assertTrue(e.getMessage().contains("system property jdiffusion.backend is 'tpu'"), e.getMessage());
        assertTrue(e.getMessage().contains("cpu, cuda, auto"), e.getMessage());
    }

    @Test
    void thePropertyPicksTheBackend() {
        System.setProperty(Backends.PROPERTY, "cpu");
        assertEquals(Backends.Choice.CPU, Backends.configuredChoice());
        assertSame(CpuBackend.INSTANCE, Backends.create(Backends.configuredChoice()));
        System.setProperty(Backends.PROPERTY, "nonsense");
        assertThrows(IllegalArgumentException.class, Backends::configuredChoice);
    }

    @Test
    void cudaSettingsAreParsed() {
        System.setProperty("jdiffusion.cuda.dtype", "bf16");
        assertEquals(DType.BF16, Backends.cudaDType());
        System.setProperty("jdiffusion.cuda.dtype", "f8");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Backends::cudaDType);
        assertTrue(e.getMessage().contains("f32, f16, bf16"), e.getMessage());
        assertEquals(40L << 30, Backends.parseBytes("40g", "b"));
        assertEquals(512L << 20, Backends.parseBytes("512MiB", "b"));
        assertEquals(123, Backends.parseBytes("123", "b"));
        assertThrows(IllegalArgumentException.class, () -> Backends.parseBytes("lots", "b"));
        System.setProperty("jdiffusion.cuda.budget", "2k");
        assertEquals(2048, Backends.cudaBudget());
    }

    @Test
    void autoFallsBackToTheCpuWhenCudaIsMissing() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeFalse(a.available(), "CUDA is available here (" + a.reason() + "): the fallback cannot be observed");
        assertSame(CpuBackend.INSTANCE, Backends.create(Backends.Choice.AUTO));
    }

    @Test
    void askingForCudaWithoutAGpuSaysWhatIsMissing() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeFalse(a.available(), "CUDA is available here (" + a.reason() + ")");
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class, () -> Backends.create(Backends.Choice.CUDA));
        String m = e.getMessage();
        assertTrue(m.contains("the CUDA backend was asked for"), m);
        // the reason names the missing piece: the driver library, NVRTC, cuBLAS, or the device
        assertTrue(m.contains("libcuda.so.1") || m.contains("libnvrtc") || m.contains("libcublas") || m.contains("no CUDA device"), m);
        assertEquals(a.reason(), e.getCause().getMessage());
    }

    @Test
    void theCudaRowsOfTheMatrixRunWhereCudaIs() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA not available: " + a.reason());
        try (Backend b = Backends.create(Backends.Choice.CUDA)) {
            assertEquals("cuda", b.name());
            assertEquals(3f, b.fromFloats(new float[] {1, 2, 3}, 3).toFloatArray()[2]);
        }
    }

    @Test
    void backendsByNameForToolsThatCompareThem() {
        assertSame(CpuBackend.INSTANCE, Backends.named(" CPU "));
        assertTrue(CpuBackend.INSTANCE.memoryUse().isEmpty(), "the CPU backend keeps no memory figures of its own");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.named("cuda-f8"));
        assertEquals("backend 'cuda-f8'; allowed: cpu, cuda, cuda-f32, cuda-f16, cuda-bf16, auto", e.getMessage());
        Backends.CudaAvailability a = Backends.cudaAvailability();
        if (!a.available()) {
            CudaUnavailableException u = assertThrows(CudaUnavailableException.class, () -> Backends.named("cuda-f16"));
            assertTrue(u.getMessage().contains("asked for (backend 'cuda-f16')"), u.getMessage());
            return;
        }
        try (Backend b = Backends.named("cuda-bf16")) {
            assertEquals(DType.BF16, b.computeType());
            long before = b.memoryUse().orElseThrow().inUse();
            Tensor t = b.zeros(1024);
            b.synchronize();
            Backend.MemoryStats s = b.memoryUse().orElseThrow();
            assertTrue(s.inUse() >= before + 2048 && s.peakInUse() >= s.inUse() && s.reserved() >= s.inUse(), s.toString());
            t.close();
            b.resetPeakMemory();
            assertEquals(b.memoryUse().orElseThrow().inUse(), b.memoryUse().orElseThrow().peakInUse(), "peak restarts from what is in use");
        }
    }
}
