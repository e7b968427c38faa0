package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.vae.AutoencoderKL;
import io.jdiffusion.vae.VaeTiling;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The fixture VAE (tiny-sdxl {@code sdxl-base/vae}) on the CPU reference backend: encode of
 * {@code vae/image}, decode of {@code vae/latents}, and the same decode tiled 2x2 (diffusers'
 * tiled_decode with latent tiles of 3/4 of the side). Decode is the baseline of the ratios in
 * docs/benchmarks.md. Fixture folder: $SDXL_FIXTURES, else testdata/tiny-sdxl under the working directory.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class VaeBenchmark {
    AutoencoderKL vae;
    AutoencoderKL tiledVae;
    Tensor image;
    Tensor latents;

    @Setup(Level.Trial)
    public void setup() {
        String env = System.getenv("SDXL_FIXTURES");
        Path root = env != null && !env.isBlank() ? Path.of(env) : Path.of("testdata/tiny-sdxl");
        if (!Files.isDirectory(root.resolve("sdxl-base/vae"))) {
            throw new IllegalStateException("no fixture VAE at " + root.toAbsolutePath() + "/sdxl-base/vae (set SDXL_FIXTURES or run from the repository root)");
        }
        vae = AutoencoderKL.load(root.resolve("sdxl-base/vae"), CpuBackend.INSTANCE);
        try (SafetensorsFile ref = SafetensorsFile.open(root.resolve("reference.safetensors"))) {
            image = Tensor.of(ref.floats("vae/image"), ref.info("vae/image").shape());
            latents = Tensor.of(ref.floats("vae/latents"), ref.info("vae/latents").shape());
        }
        int side = Math.min(latents.dim(2), latents.dim(3));
        tiledVae = vae.withTiling(VaeTiling.ofLatentTile(Math.max(4, side * 3 / 4 / 4 * 4), vae.config().scaleFactor()));
    }

    @Benchmark
    public Tensor encode() { return vae.encode(image).mean(); }

    @Benchmark
    public Tensor decode() { return vae.decode(latents); }

    @Benchmark
    public Tensor decodeTiled2x2() { return tiledVae.decode(latents); }
}
