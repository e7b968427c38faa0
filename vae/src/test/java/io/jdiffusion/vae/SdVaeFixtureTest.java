package io.jdiffusion.vae;

import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.SdFixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The SD 1/2 VAE of each set (same AutoencoderKL, scaling_factor 0.18215 read from its config)
 * against diffusers' encode (mean, logvar) and decode within 1e-4.
 */
class SdVaeFixtureTest {
    private static final double ATOL = Fixtures.tolerance(1e-4);

    @TestFactory
    Stream<DynamicTest> sdSets() {
        return SdFixtures.sets().stream().map(set -> DynamicTest.dynamicTest(set + " vae", () -> {
            AutoencoderKL vae = AutoencoderKL.load(set.path("sd/vae"), Fixtures.backend());
            assertEquals(0.18215f, vae.config().scalingFactor(), "scaling_factor from the SD config");
            DiagonalGaussianDistribution post = vae.encode(set.tensor("vae/image"));
            TensorAssert.assertClose(set + " vae/mean", set.tensor("vae/mean"), post.mean(), ATOL);
            TensorAssert.assertClose(set + " vae/logvar", set.tensor("vae/logvar"), post.logvar(), ATOL);
            System.out.println(set + " vae decode: " + TensorAssert.assertClose(set + " vae/decoded", set.tensor("vae/decoded"),
                    vae.decode(set.tensor("vae/latents")), ATOL));
        }));
    }
}
