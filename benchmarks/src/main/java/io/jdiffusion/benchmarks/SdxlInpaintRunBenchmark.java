package io.jdiffusion.benchmarks;

import io.jdiffusion.pipelines.DeviceBudget;
import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * A whole inpainting run as a user runs it: base for the first 80 % of a 30-step schedule, refiner
 * for the rest, guidance 7.5 (batch-2 UNet calls), text encoders and VAE encode/decode included.
 * {@code vram} = 0 keeps every component loaded; e.g. {@code 8g} runs under a {@link DeviceBudget}
 * (components take turns on the device, their load time included); the teardown prints the peak
 * device memory. The first (warm-up) run also loads the models. GPU:
 * {@code -p scale=full -p backend=cuda-f16 -p size=1024 -p vram=0,8g}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@Warmup(iterations = 1)
@Measurement(iterations = 3)
public class SdxlInpaintRunBenchmark {
    @Param("tiny")
    public String scale;
    @Param("cpu")
    public String backend;
    /** Image side in pixels. */
    @Param("1024")
    public int size;
    @Param("30")
    public int steps;
    /** Device memory budget (0: none), e.g. 8g. */
    @Param("0")
    public String vram;

    private Backend be;
    private SdxlModel base, refiner;
    private InpaintPipeline pipe;

    @Setup(Level.Trial)
    public void setup() {
        be = FullSize.backend(backend);
        if (FullSize.full(scale)) {
            base = SdxlModel.random(Layout.BASE, be, 1);
            refiner = SdxlModel.random(Layout.REFINER, be, 2);
        } else {
            base = SdxlModel.load(FullSize.fixtureModel("base").toString(), null, be);
            refiner = SdxlModel.load(FullSize.fixtureModel("refiner").toString(), null, be);
        }
        // a synthetic photo (two gradients) and a centred square mask: no image decoder needed
        int[] px = new int[size * size * 3], m = new int[size * size];
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                int i = y * size + x;
                px[3 * i] = x * 255 / size;
                px[3 * i + 1] = y * 255 / size;
                px[3 * i + 2] = 128;
                m[i] = x > size / 4 && x < 3 * size / 4 && y > size / 4 && y < 3 * size / 4 ? 255 : 0;
            }
        }
        Image image = Image.ofSamples(size, size, 3, px), mask = Image.ofSamples(size, size, 1, m);
        pipe = InpaintPipeline.of(base).refiner(refiner).highNoiseFraction(0.8).steps(steps).guidance(7.5)
                .prompt("a red vase on a wooden table, studio light").negativePrompt("blurry, low quality")
                .image(image).mask(mask).seed(1).vram(Backends.parseBytes(vram, "vram"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        DeviceBudget b = pipe.deviceBudget();
        System.out.println("\ninpaint run " + scale + " on " + backend + ", vram " + vram + ": "
                + (b != null ? b.summary() : "no budget") + "; " + FullSize.memory(be));
        pipe.close();
        refiner.close();
        base.close();
        FullSize.close(be);
    }

    @Benchmark
    public GenerationResult inpaintBaseAndRefiner() {
        GenerationResult r = pipe.run();
        FullSize.sync(be);
        return r;
    }
}
