package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cuda.CudaBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fixture UNet's forward as a CUDA graph (F16, the pipelines' default): captured on the first
 * call, replayed for other samples, contexts and timesteps with results equal to the eager forward
 * bit for bit (same kernels in the same order on the same values); a refused capture logs one line
 * and gives the eager result; closing the graphs returns every byte. Runs on the emulated device (or
 * a GPU), else skipped with the reason.
 */
class UNetCudaGraphTest {
    private static final Pattern OUT = Pattern.compile("unet/([^/]+)/t([0-9.]+)/out");

    private record Step(Tensor sample, float t, Tensor context, Tensor textEmbeds, Tensor timeIds) {
        float[] run(Backend be, UNet2DConditionModel unet) {
            try (Backend.Scope s = be.openScope()) {
                return unet.forward(sample, t, context, textEmbeds, timeIds).toFloatArray();
            }
        }
    }

    private static Tensor scaled(Tensor t, float f) {
        float[] v = t.toFloatArray();
        for (int i = 0; i < v.length; i++) v[i] *= f;
        return Tensor.of(v, t.shape());
    }

    @Test
    void replaysEqualTheEagerForwardAndARefusedCaptureFallsBack() {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA not available: " + a.reason());
        Matcher c = new TreeSet<>(Fixtures.tensors().names()).stream().map(OUT::matcher).filter(Matcher::matches).findFirst().orElseThrow();
        String in = "unet/" + c.group(1) + "/";
        Path folder = Fixtures.path("sdxl-" + c.group(1) + "/unet");
        Step first = new Step(Fixtures.tensor(in + "sample"), Float.parseFloat(c.group(2)), Fixtures.tensor(in + "encoder_hidden_states"),
                Fixtures.tensor(in + "text_embeds"), Fixtures.tensor(in + "time_ids"));
        Step second = new Step(scaled(first.sample, -0.75f), first.t * 0.5f + 3f, scaled(first.context, 1.25f),
                scaled(first.textEmbeds, 0.5f), first.timeIds);

        try (CudaBackend cuda = CudaBackend.create(Backends.cudaDevice(), DType.F16, 0);
             UNet2DConditionModel unet = UNet2DConditionModel.load(folder, cuda)) {
            var graphs = unet.cudaGraphs();
            graphs.enabled(false);
            float[] eager1 = first.run(cuda, unet), eager2 = second.run(cuda, unet);
            assertTrue(!java.util.Arrays.equals(eager1, eager2), "the two steps differ");
            cuda.synchronize();
            long inUse = cuda.memoryStats().inUse();

            graphs.enabled(true);
            assertArrayEquals(eager1, first.run(cuda, unet), 0f, "first call: eager, then captured");
            assertEquals(1, graphs.graphs());
            assertEquals(1, graphs.logged().size(), graphs.logged().toString());
            assertTrue(graphs.logged().get(0).contains("was captured"), graphs.logged().get(0));
            assertArrayEquals(eager2, second.run(cuda, unet), 0f, "replay with another sample, context and timestep = eager");
            assertArrayEquals(eager1, first.run(cuda, unet), 0f, "replay of the first step again = eager");
            assertEquals(2, graphs.replays());
            assertEquals(1, graphs.logged().size(), "replays log nothing");

            graphs.close();
            cuda.synchronize();
            assertEquals(inUse, cuda.memoryStats().inUse(), "closing the graph returned its buffers and pool");
            assertEquals(0, graphs.graphs());

            // a capture the driver refuses (a stream synchronisation inside the pass): one line, eager results
            graphs.failNextCapture();
            assertArrayEquals(eager1, first.run(cuda, unet), 0f, "refused capture: the eager result");
            assertArrayEquals(eager2, second.run(cuda, unet), 0f, "those shapes stay eager");
            assertEquals(0, graphs.graphs());
            assertEquals(2, graphs.logged().size(), graphs.logged().toString());
            String line = graphs.logged().get(1);
            assertTrue(line.contains("refused") && line.contains("CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"), line);
            cuda.synchronize();
            assertEquals(inUse, cuda.memoryStats().inUse(), "a refused capture leaves nothing behind");
        }
    }
}
