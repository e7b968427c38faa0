package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parity of the fixture VAE ({@code sdxl-base/vae}) with diffusers' outputs in reference.safetensors, on the CPU backend. */
class AutoencoderKLTest {
    static final double ATOL = Fixtures.tolerance(1e-4);
    static AutoencoderKL vae;

    @BeforeAll
    static void load() {
        vae = AutoencoderKL.load(Fixtures.path("sdxl-base/vae"), Fixtures.backend());
    }

    @Test
    void encodeMatchesDiffusersMeanAndLogvar() {
        Tensor image = Fixtures.tensor("vae/image");
        DiagonalGaussianDistribution post = vae.encode(image);
        var dm = TensorAssert.assertClose("vae/mean", Fixtures.tensor("vae/mean"), post.mean(), ATOL);
        var dl = TensorAssert.assertClose("vae/logvar", Fixtures.tensor("vae/logvar"), post.logvar(), ATOL);
        System.out.println("VAE encode vs diffusers: mean " + dm + "; logvar " + dl);
        // Latent side = image side / 2^(levels-1) for sides divisible by it.
        int f = vae.config().scaleFactor();
        assertEquals(image.dim(2) / f, post.mean().dim(2));
        assertEquals(image.dim(3) / f, post.mean().dim(3));
    }

    @Test
    void decodeMatchesDiffusers() {
        Tensor latents = Fixtures.tensor("vae/latents");
        Tensor decoded = vae.decode(latents);
        var d = TensorAssert.assertClose("vae/decoded", Fixtures.tensor("vae/decoded"), decoded, ATOL);
        System.out.println("VAE decode vs diffusers: " + d);
    }

    @Test
    void batchRowsAreIndependent() {
        // Batch of two: the fixture latents and a scaled copy; each row must decode as it does alone
        // (GroupNorm statistics and attention are per sample).
        var be = CpuBackend.INSTANCE;
        Tensor z = Fixtures.tensor("vae/latents").slice(0, 1);
        Tensor z2 = be.mulScalar(z, -0.5f);
        Tensor both = vae.decode(be.concat(0, z, z2));
        TensorAssert.assertClose("batch row 0", vae.decode(z), both.slice(0, 1), 1e-6);
        TensorAssert.assertClose("batch row 1", vae.decode(z2), both.slice(1, 2), 1e-6);
    }

    @Test
    void posteriorStatisticsAndSample() {
        DiagonalGaussianDistribution post = vae.encode(Fixtures.tensor("vae/image"));
        float[] mean = post.mean().toFloatArray(), logvar = post.logvar().toFloatArray();
        float[] std = post.std().toFloatArray(), var = post.var().toFloatArray();
        float[] eps = new float[mean.length];
        SplittableRandom r = new SplittableRandom(42);
        for (int i = 0; i < eps.length; i++) eps[i] = (float) (r.nextDouble() * 4 - 2);
        int[] calls = {0};
        Tensor z = post.sample(out -> {
            calls[0]++;
            assertEquals(mean.length, out.length, "one draw of the whole mean shape");
            System.arraycopy(eps, 0, out, 0, out.length);
        });
        assertEquals(1, calls[0]);
        assertArrayEquals(post.mean().shape(), z.shape());
        float[] zs = z.toFloatArray();
        for (int i = 0; i < mean.length; i++) {
            assertTrue(logvar[i] >= -30f && logvar[i] <= 20f);
            assertEquals((float) Math.exp(0.5f * logvar[i]), std[i], 1e-6f * Math.max(1, std[i]));
            assertEquals((float) Math.exp(logvar[i]), var[i], 1e-6f * Math.max(1, var[i]));
            assertEquals(mean[i] + std[i] * eps[i], zs[i], 1e-6f);
        }
        assertArrayEquals(mean, post.mode().toFloatArray());
    }

    @Test
    void logvarIsClampedAndMomentsSplitOnChannels() {
        // moments [1, 2, 1, 3]: channel 0 = mean, channel 1 = logvar (below, inside, above the clamp range).
        Tensor m = Tensor.of(new float[] {1, 2, 3, -100, 0.5f, 100}, 1, 2, 1, 3);
        DiagonalGaussianDistribution d = new DiagonalGaussianDistribution(CpuBackend.INSTANCE, m);
        assertArrayEquals(new float[] {1, 2, 3}, d.mean().toFloatArray());
        assertArrayEquals(new float[] {-30, 0.5f, 20}, d.logvar().toFloatArray());
        assertArrayEquals(new float[] {(float) Math.exp(-15), (float) Math.exp(0.25), (float) Math.exp(10)}, d.std().toFloatArray(), 1e-6f);
        // One noise source per batch row.
        Tensor m2 = Tensor.of(new float[] {1, 0, 2, 0}, 2, 2, 1, 1);
        DiagonalGaussianDistribution d2 = new DiagonalGaussianDistribution(CpuBackend.INSTANCE, m2);
        Tensor z = d2.sample(java.util.List.of(out -> Arrays.fill(out, 10f), out -> Arrays.fill(out, -1f)));
        assertArrayEquals(new float[] {11, 1}, z.toFloatArray());
    }

    @Test
    void rejectsWrongInputShapes() {
        var e = assertThrows(IllegalArgumentException.class, () -> vae.decode(Tensor.zeros(1, vae.config().latentChannels() + 1, 4, 4)));
        assertTrue(e.getMessage().contains("latent_channels"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> vae.encode(Tensor.zeros(3, 8, 8)));
        assertTrue(e2.getMessage().contains("in_channels"), e2.getMessage());
    }

    @Test
    void latentScalingRoundTrip() {
        Tensor z = Tensor.of(new float[] {1f, -2f, 0.5f, 3f}, 1, 4, 1, 1);
        float s = vae.config().scalingFactor();
        float[] scaled = vae.scaleLatents(z).toFloatArray();
        float[] back = vae.unscaleLatents(z).toFloatArray();
        float[] zs = z.toFloatArray();
        for (int i = 0; i < zs.length; i++) {
            assertEquals((zs[i] - vae.config().shift()) * s, scaled[i], 0f);
            assertEquals(zs[i] / s + vae.config().shift(), back[i], 0f);
        }
    }
}
