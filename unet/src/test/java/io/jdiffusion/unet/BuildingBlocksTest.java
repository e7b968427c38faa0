package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pieces of the UNet against hand-worked values and naive loops. */
class BuildingBlocksTest {
    @Test
    void timestepEmbeddingMatchesSpecCheckValues() {
        // spec §3.4 step 1 [RUN-VERIFIED]: t = 981, 320 wide, flip_sin_to_cos, freq_shift 0
        float[] e = new Timesteps(320, true, 0f).embed(new float[] {981f});
        float[] first = {0.679957f, -0.798429f, 0.578064f, -0.674700f};
        float[] last = {0.123187f, 0.116328f, 0.109848f, 0.103726f};
        for (int i = 0; i < 4; i++) {
            assertEquals(first[i], e[i], 1e-6, "entry " + i);
            assertEquals(last[i], e[316 + i], 1e-6, "entry " + (316 + i));
        }
    }

    /** PyTorch's SLEEF exp is within 1 ulp of the true exp (and exact at 0) over the frequency exponents' range. */
    @Test
    void sleefExpWithinOneUlp() {
        assertEquals(1f, Timesteps.sleefExpf(0f));
        int off = 0;
        for (float d = -12f; d <= 2f; d += 0.000731f) {
            float ref = (float) Math.exp(d), got = Timesteps.sleefExpf(d);
            assertTrue(Math.abs(ref - got) <= Math.ulp(ref), "exp(" + d + "): " + got + " vs " + ref);
            if (ref != got) off++;
        }
        assertTrue(off > 0, "differs from a correctly rounded exp somewhere (else the emulation would be pointless)");
    }

    @Test
    void timestepEmbeddingAgainstDoublePrecisionFormula() {
        int dim = 9; // odd: zero pad at the end
        float shift = 1f;
        float[] t = {0f, 1f, 500f, 999f};
        float[] sinFirst = new Timesteps(dim, false, shift).embed(t);
        float[] cosFirst = new Timesteps(dim, true, shift).embed(t);
        int half = dim / 2;
        for (int i = 0; i < t.length; i++) {
            for (int k = 0; k < half; k++) {
                double arg = t[i] * Math.exp(-Math.log(10000) * k / (half - shift));
                // f32 argument rounding near t = 1000 costs up to ~1e-4 absolute in sin/cos
                assertEquals(Math.sin(arg), sinFirst[i * dim + k], 2e-4);
                assertEquals(Math.cos(arg), sinFirst[i * dim + half + k], 2e-4);
                assertEquals(Math.cos(arg), cosFirst[i * dim + k], 2e-4);
                assertEquals(Math.sin(arg), cosFirst[i * dim + half + k], 2e-4);
            }
            assertEquals(0f, sinFirst[i * dim + dim - 1]);
            assertEquals(0f, cosFirst[i * dim + dim - 1]);
        }
    }

    /**
     * A latent whose sides are not divisible by 2^(number of upsamplers): diffusers then upsamples to
     * each skip's exact size (spec §3.4 step 6); without that the skip concatenation would not fit.
     */
    @Test
    void oddLatentSizesUpsampleToTheSkipSizes() {
        try (UNet2DConditionModel m = UNet2DConditionModel.load(Fixtures.path("sdxl-base/unet"), CpuBackend.INSTANCE)) {
            int factor = 1 << (m.config().levels() - 1);
            int h = 2 * factor + 1, w = 3 * factor - 1;
            String in = "unet/base/";
            Tensor ctx = Fixtures.tensor(in + "encoder_hidden_states");
            int b = ctx.dim(0);
            float[] s = new float[b * m.config().inChannels() * h * w];
            Random r = new Random(1);
            for (int i = 0; i < s.length; i++) s[i] = (float) r.nextGaussian();
            Tensor out = m.forward(Tensor.of(s, b, m.config().inChannels(), h, w), 700f,
                    ctx, Fixtures.tensor(in + "text_embeds"), Fixtures.tensor(in + "time_ids"));
            assertArrayEquals(new int[] {b, m.config().outChannels(), h, w}, out.shape());
            for (float v : out.toFloatArray()) assertTrue(Float.isFinite(v));
        }
    }

    /** Per-batch timesteps: each row must equal a run of that row alone with its own timestep. */
    @Test
    void perBatchTimestepsEqualSeparateRuns() {
        try (UNet2DConditionModel m = UNet2DConditionModel.load(Fixtures.path("sdxl-base/unet"), CpuBackend.INSTANCE)) {
            BaseInputs in = BaseInputs.read();
            int b = in.sample().dim(0);
            float[] ts = new float[b];
            for (int i = 0; i < b; i++) ts[i] = 100f + 300f * i;
            Tensor both = m.forward(in.sample(), ts, in.ctx(), in.text(), in.ids());
            for (int i = 0; i < b; i++) {
                Tensor one = m.forward(in.sample().slice(i, i + 1), ts[i], in.ctx().slice(i, i + 1),
                        in.text().slice(i, i + 1), in.ids().slice(i, i + 1));
                assertArrayEquals(one.toFloatArray(), both.slice(i, i + 1).toFloatArray(), 1e-5f, "row " + i);
            }
        }
    }

    @Test
    void badForwardInputsAreRefusedByName() {
        try (UNet2DConditionModel m = UNet2DConditionModel.load(Fixtures.path("sdxl-base/unet"), CpuBackend.INSTANCE)) {
            BaseInputs in = BaseInputs.read();
            int b = in.sample().dim(0);
            Tensor wrongChannels = Tensor.zeros(b, in.sample().dim(1) + 1, in.sample().dim(2), in.sample().dim(3));
            Tensor wrongCtx = Tensor.zeros(b, in.ctx().dim(1), in.ctx().dim(2) + 1);
            Tensor wrongIds = Tensor.zeros(b, in.ids().dim(1) + 1);
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> m.forward(wrongChannels, 1f, in.ctx(), in.text(), in.ids())).getMessage().contains("in_channels"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> m.forward(in.sample(), 1f, wrongCtx, in.text(), in.ids())).getMessage().contains("cross_attention_dim"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> m.forward(in.sample(), 1f, in.ctx(), in.text(), wrongIds)).getMessage().contains("projection_class_embeddings_input_dim"));
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> m.forward(in.sample(), new float[b + 1], in.ctx(), in.text(), in.ids())).getMessage().contains("timesteps"));
        }
    }

    /** The base UNet fixture's inputs: sample, encoder_hidden_states, text_embeds, time_ids. */
    private record BaseInputs(Tensor sample, Tensor ctx, Tensor text, Tensor ids) {
        static BaseInputs read() {
            String in = "unet/base/";
            return new BaseInputs(Fixtures.tensor(in + "sample"), Fixtures.tensor(in + "encoder_hidden_states"),
                    Fixtures.tensor(in + "text_embeds"), Fixtures.tensor(in + "time_ids"));
        }
    }
}
