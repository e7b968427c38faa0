package io.jdiffusion.unet;

import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.TensorInfo;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.WeightSource;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Past the CPU backend's weight budget ({@code jdiffusion.cpu.weightCacheMiB}, here 0), loading must
 * leave the weights in the memory-mapped file, not copy them onto the Java heap (within it, they
 * are converted to F32 arrays once, at load: CpuElementwiseShapeTest).
 *
 * <p>Method: load (and close) the model once first, so one-time static state (classes' static
 * caches, Jackson internals) is not counted. Then open the weight file (mapping it and indexing its
 * header: a cost per tensor NAME, a few hundred bytes each, whatever the tensor sizes), take the heap
 * in use after a full collection ({@code MemoryMXBean}, after repeated {@code System.gc()} until
 * the figure settles), build the model over that file and keep it reachable, collect again and take
 * the heap in use once more. The difference is what building the model put on the heap: module
 * objects and tensor headers (views of the mapping). Had the weights been copied to the heap, in
 * any dtype, it would be at least their stored size (the file's tensor bytes; twice that as F32).
 * The bound is a quarter of the stored size: it scales with what must not be copied, so it holds
 * for any fixture set (the per-module overhead of a model with small tensors can exceed a bound
 * tied to the largest tensor), and a copy of even half the weights in their stored dtype fails it.
 */
class MappedWeightsMemoryTest {
    static long heapAfterGc(MemoryMXBean mx) throws InterruptedException {
        long prev = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            Thread.sleep(20);
            long used = mx.getHeapMemoryUsage().getUsed();
            if (Math.abs(prev - used) < 4096) return used;
            prev = used;
        }
        return prev;
    }

    @Test
    void weightsStayInTheMappedFilePastTheBudget() throws Exception {
        String before = System.getProperty("jdiffusion.cpu.weightCacheMiB");
        System.setProperty("jdiffusion.cpu.weightCacheMiB", "0");
        try {
            weightsStayInTheMappedFile();
        } finally {
            if (before == null) System.clearProperty("jdiffusion.cpu.weightCacheMiB");
            else System.setProperty("jdiffusion.cpu.weightCacheMiB", before);
        }
    }

    private void weightsStayInTheMappedFile() throws Exception {
        Path folder = Fixtures.path("sdxl-base/unet");
        long stored = 0, total = 0;
        try (SafetensorsFile f = SafetensorsFile.open(UNet2DConditionModel.weightFile(folder))) {
            for (TensorInfo i : f.infos().values()) {
                stored += i.byteLength();
                total += i.numel() * 4;
            }
        }
        UNet2DConditionModel.load(folder, CpuBackend.INSTANCE).close();
        // the first load starts the CPU backend's GEMM warm-up thread (about 1 MB of its own arrays for up
        // to 3 s): let it finish, or its arrays land between the two measurements when it starts late
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("jdiffusion-gemm-warmup")) t.join();
        }

        UNet2DConditionConfig config = UNet2DConditionConfig.load(folder.resolve("config.json"));
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        WeightSource weights = UNet2DConditionModel.openWeights(UNet2DConditionModel.weightFile(folder));
        long before = heapAfterGc(mx);
        UNet2DConditionModel model = UNet2DConditionModel.load(config, weights, CpuBackend.INSTANCE, null);
        long after = heapAfterGc(mx);
        long growth = after - before;
        long bound = stored / 4;
        System.out.printf("heap growth after loading %s: %d bytes; weights stored %d bytes, as F32 %d bytes%n",
                folder, growth, stored, total);
        assertTrue(growth < bound, "loading grew the heap by " + growth + " bytes, not below a quarter of the weights' stored size ("
                + bound + "); a copy would be at least " + stored + " (F32: " + total + ")");
        model.close(); // keeps the model reachable until after the measurement; closes the weights too
    }
}
