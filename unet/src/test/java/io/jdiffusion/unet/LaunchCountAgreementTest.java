package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cuda.CudaBackend;
import io.jdiffusion.tensor.meta.MetaBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shape-only backend counts what the CUDA backend really queues: a fixture UNet's forward pass
 * launches on CUDA (kernels, cuBLAS calls, memsets) exactly as many times as {@link MetaBackend}
 * counts for the same model and inputs, so {@code jdiffusion profile}'s launches per step are the
 * real ones. Counted on the second pass (the first runs the tensor-core attention's one-time
 * self-check), which with CUDA graphs on (the default) is a replay of the graph the first pass
 * captured: the backend counts the captured launches at each replay. Runs where CUDA (or the
 * emulated device) is found, else skipped with the reason.
 */
class LaunchCountAgreementTest {
    private static final Pattern OUT = Pattern.compile("unet/([^/]+)/t([0-9.]+)/out");

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = DType.class, names = {"F16", "F32"})
    void metaCountsWhatCudaLaunches(DType dtype) {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA not available: " + a.reason());
        Matcher c = new TreeSet<>(Fixtures.tensors().names()).stream().map(OUT::matcher).filter(Matcher::matches).findFirst().orElseThrow();
        String name = c.group(1), in = "unet/" + name + "/";
        float t = Float.parseFloat(c.group(2));
        Path folder = Fixtures.path("sdxl-" + name + "/unet");
        Tensor sample = Fixtures.tensor(in + "sample"), context = Fixtures.tensor(in + "encoder_hidden_states");
        Tensor textEmbeds = Fixtures.tensor(in + "text_embeds"), timeIds = Fixtures.tensor(in + "time_ids");

        long onCuda;
        try (CudaBackend cuda = CudaBackend.create(Backends.cudaDevice(), dtype, 0);
             UNet2DConditionModel unet = UNet2DConditionModel.load(folder, cuda)) {
            unet.forward(sample, t, context, textEmbeds, timeIds).close();
            long before = cuda.kernelLaunches();
            unet.forward(sample, t, context, textEmbeds, timeIds).close();
            onCuda = cuda.kernelLaunches() - before;
        }
        MetaBackend meta = new MetaBackend(dtype);
        long counted;
        try (UNet2DConditionModel unet = UNet2DConditionModel.load(folder, meta)) {
            long before = meta.counters().kernelLaunches();
            unet.forward(sample, t, context, textEmbeds, timeIds);
            counted = meta.counters().kernelLaunches() - before;
        }
        System.out.println("unet/" + name + " " + dtype + ": " + onCuda + " launches on CUDA, " + counted + " counted shape-only");
        assertTrue(onCuda > 0, "the forward pass launched nothing");
        assertEquals(onCuda, counted, "launches of one " + name + " UNet forward in " + dtype + ": CUDA vs MetaBackend");
    }
}
