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
 * objects and tensor headers (views of the mapping). Had the weights been copied to F32 arrays, it
 * would be at least their total F32 size (for the tiny UNet about 34× the largest tensor); the
 * bound of twice the largest single tensor's F32 size is far below that, and holds only if no
 * tensor's data ends up on the heap.
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
        long largest = 0, total = 0;
        try (SafetensorsFile f = SafetensorsFile.open(UNet2DConditionModel.weightFile(folder))) {
            for (TensorInfo i : f.infos().values()) {
                largest = Math.max(largest, i.numel() * 4);
                total += i.numel() * 4;
            }
        }
        UNet2DConditionModel.load(folder, CpuBackend.INSTANCE).close();

        UNet2DConditionConfig config = UNet2DConditionConfig.load(folder.resolve("config.json"));
        MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
        WeightSource weights = UNet2DConditionModel.openWeights(UNet2DConditionModel.weightFile(folder));
        long before = heapAfterGc(mx);
        UNet2DConditionModel model = UNet2DConditionModel.load(config, weights, CpuBackend.INSTANCE, null);
        long after = heapAfterGc(mx);
        long growth = after - before;
        System.out.printf("heap growth after loading %s: %d bytes; largest tensor F32 %d bytes, all weights F32 %d bytes%n",
                folder, growth, largest, total);
        assertTrue(growth < 2 * largest, "loading grew the heap by " + growth + " bytes, not below 2 × the largest tensor's F32 size ("
                + 2 * largest + "); all weights as F32 would be " + total);
        model.close(); // keeps the model reachable until after the measurement; closes the weights too
    }
}
