package io.jdiffusion.benchmarks;

import io.jdiffusion.pipelines.RandomSdxl;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.RandomWeights;
import io.jdiffusion.text.CLIPTextConfig;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * One UNet call, what a sampling step costs: batch 2 is a classifier-free-guidance step (prompt +
 * negative prompt), batch 1 a step without guidance. Steps/second = 1000 / score (ms/op).
 * GPU: {@code -p scale=full -p backend=cuda-f16 -p latent=128} (1024² images; 96 for 768²);
 * the defaults run the fixture UNets at 16×16 latents on the CPU.
 */
public class SdxlStepBenchmark extends JmhSettings.Scaled {
    /** base, refiner or inpaint (the 9-channel inpainting UNet). */
    @Param({"base", "refiner", "inpaint"})
    public String model;
    /** Latent side: image side / 8. */
    @Param("16")
    public int latent;
    @Param({"2", "1"})
    public int batch;

    private Backend be;
    private UNet2DConditionModel unet;
    private HeldRandomWeights heldWeights;
    private Tensor sample, context, pooled, timeIds;

    @Setup(Level.Trial)
    public void setup() {
        be = FullSize.backend(backend);
        Path configs = FullSize.full(scale) ? RandomSdxl.configs(FullSize.layout(model)) : FullSize.fixtureModel(model.equals("inpaint") ? "base" : model);
        if (FullSize.full(scale) && be.device().kind() == Device.Kind.CPU) {
            // the CPU reads weights in place: lazy random ones would be drawn again on every forward
            UNet2DConditionConfig c = RandomSdxl.unetConfig(FullSize.layout(model));
            Map<String, int[]> shapes = RandomWeights.shapesOf("unet", p -> new UNet2DConditionModel(c, p));
            heldWeights = new HeldRandomWeights(RandomWeights.streaming(shapes, 1, RandomSdxl.weightType(be)));
            Params p = Params.load("unet", heldWeights, be, null);
            unet = new UNet2DConditionModel(c, p);
            p.finish();
        } else if (FullSize.full(scale)) {
            unet = RandomSdxl.unet(FullSize.layout(model), be, 1);
        } else {
            unet = UNet2DConditionModel.load(FullSize.fixtureModel(model).resolve("unet"), be);
        }
        UNet2DConditionConfig c = unet.config();
        int p = CLIPTextConfig.read(configs.resolve("text_encoder_2/config.json")).projectionDim();
        int ids = (c.projectionClassEmbeddingsInputDim() - p) / c.additionTimeEmbedDim();
        Random r = new Random(0);
        sample = be.fromFloats(FullSize.gauss(r, (long) batch * c.inChannels() * latent * latent), batch, c.inChannels(), latent, latent);
        context = be.fromFloats(FullSize.gauss(r, (long) batch * 77 * c.crossAttentionDim()[0]), batch, 77, c.crossAttentionDim()[0]);
        pooled = be.fromFloats(FullSize.gauss(r, (long) batch * p), batch, p);
        float[] t = new float[batch * ids];
        for (int i = 0; i < t.length; i++) t[i] = i % ids < 2 ? latent * 8 : 0;
        timeIds = be.fromFloats(t, batch, ids);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.println("\n" + model + " UNet " + scale + " on " + backend + ", batch " + batch + ", " + latent + "² latents: " + FullSize.memory(be));
        unet.close();
        if (heldWeights != null) heldWeights.close();
        FullSize.close(be);
    }

    @Benchmark
    public int unetStep() {
        try (Backend.Scope s = be.openScope()) {
            Tensor eps = unet.forward(sample, 500f, context, pooled, timeIds);
            FullSize.sync(be);
            return eps.rank();
        }
    }
}
