package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.unet.UNet2DConditionModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * One forward pass of the fixture (tiny) SDXL base UNet on the CPU reference backend, with the
 * inputs of the {@code unet/base} reference case at t = 500; weights F16, read in place from the
 * mapped file. {@code baselineLinear} (a fixed 1024×512 · 512×512 F32 linear on the same backend)
 * is measured in the same run so results can be read as a ratio, independent of the machine.
 */
public class UNetBenchmark extends JmhSettings {
    private UNet2DConditionModel unet;
    private Tensor sample, context, textEmbeds, timeIds, x, w;

    private static Tensor heap(SafetensorsFile f, String name) { return Tensor.of(f.floats(name), f.info(name).shape()); }

    @Setup(Level.Trial)
    public void setup() {
        Path root = FullSize.fixtures();
        unet = UNet2DConditionModel.load(root.resolve("sdxl-base/unet"), CpuBackend.INSTANCE);
        try (SafetensorsFile ref = SafetensorsFile.open(root.resolve("reference.safetensors"))) {
            sample = heap(ref, "unet/base/sample");
            context = heap(ref, "unet/base/encoder_hidden_states");
            textEmbeds = heap(ref, "unet/base/text_embeds");
            timeIds = heap(ref, "unet/base/time_ids");
        }
        Random r = new Random(0);
        float[] xd = new float[1024 * 512], wd = new float[512 * 512];
        for (int i = 0; i < xd.length; i++) xd[i] = r.nextFloat();
        for (int i = 0; i < wd.length; i++) wd[i] = r.nextFloat();
        x = Tensor.of(xd, 1024, 512);
        w = Tensor.of(wd, 512, 512);
    }

    @TearDown(Level.Trial)
    public void tearDown() { unet.close(); }

    @Benchmark
    public Tensor unetForwardTinyBase() {
        return unet.forward(sample, 500f, context, textEmbeds, timeIds);
    }

    @Benchmark
    public Tensor baselineLinear() {
        return CpuBackend.INSTANCE.linear(x, w, null);
    }
}
