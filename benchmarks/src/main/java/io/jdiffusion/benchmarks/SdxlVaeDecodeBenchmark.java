package io.jdiffusion.benchmarks;

import io.jdiffusion.pipelines.RandomSdxl;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.vae.AutoencoderKL;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.util.Random;

/**
 * VAE decode of one latent image, weights in the backend's dtype (cuda-f32: the usual fp32 SDXL
 * VAE; cuda-bf16: bf16 weights and activations). GPU: {@code -p scale=full -p backend=cuda-f32,cuda-bf16
 * -p latent=128} (1024²). Untiled.
 */
public class SdxlVaeDecodeBenchmark extends JmhSettings.Scaled {
    @Param("16")
    public int latent;

    private Backend be;
    private AutoencoderKL vae;
    private Tensor z;

    @Setup(Level.Trial)
    public void setup() {
        be = FullSize.backend(backend);
        vae = FullSize.full(scale) ? RandomSdxl.vae(Layout.BASE, be, be.computeType(), 3)
                : AutoencoderKL.load(FullSize.fixtureModel("base").resolve("vae"), be);
        int ch = vae.config().latentChannels();
        z = be.fromFloats(FullSize.gauss(new Random(0), (long) ch * latent * latent), 1, ch, latent, latent);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.println("\nVAE decode " + scale + " on " + backend + ", " + latent + "² latents: " + FullSize.memory(be));
        FullSize.close(be);
    }

    @Benchmark
    public int decode() {
        try (Backend.Scope s = be.openScope()) {
            Tensor x = vae.decode(z);
            FullSize.sync(be);
            return x.rank();
        }
    }
}
