package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.ImageProcessor;
import io.jdiffusion.schedulers.Scheduler;
import io.jdiffusion.schedulers.TimestepPlan;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.random.TorchGenerator;
import io.jdiffusion.text.PromptEmbeddings;
import io.jdiffusion.text.PromptEncoder;
import io.jdiffusion.text.PromptRequest;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;

import java.util.function.BooleanSupplier;

/**
 * The SDXL (and SD 1/2) denoising run, written out plainly in diffusers' order so that one seed consumes the
 * generator exactly as diffusers does (spec §7, §8.5): text-to-image, image-to-image (also the
 * refiner's half of the handoff) and inpainting with 4- or 9-channel UNets.
 */
final class DenoisingLoop {
    private final Backend backend;
    private final Components components;
    private final Scheduler scheduler;
    private final boolean requiresAestheticsScore;

    /**
     * The model parts a run uses, asked for at the moment of use (text encoders first, the VAE to
     * encode an init image, the UNet for the loop, the VAE again to decode), so that under a
     * {@link DeviceBudget} they can take turns on the device.
     */
    public interface Components {
        PromptEncoder text();

        /** The UNet's config, without loading the UNet. */
        UNet2DConditionConfig unetConfig();

        UNet2DConditionModel unet();

        /** The VAE to encode or decode latents of lh × lw (possibly tiled to fit a memory budget). */
        AutoencoderKL vae(int latentHeight, int latentWidth);

        /** Components that are already loaded. */
        static Components of(PromptEncoder text, UNet2DConditionModel unet, AutoencoderKL vae) {
            return new Components() {
                @Override public PromptEncoder text() { return text; }
                @Override public UNet2DConditionConfig unetConfig() { return unet.config(); }
                @Override public UNet2DConditionModel unet() { return unet; }
                @Override public AutoencoderKL vae(int lh, int lw) { return vae; }
            };
        }
    }

    public DenoisingLoop(Backend backend, PromptEncoder promptEncoder, UNet2DConditionModel unet, AutoencoderKL vae,
                   Scheduler scheduler, boolean requiresAestheticsScore) {
        this(backend, Components.of(promptEncoder, unet, vae), scheduler, requiresAestheticsScore);
    }

    public DenoisingLoop(Backend backend, Components components, Scheduler scheduler, boolean requiresAestheticsScore) {
        this.backend = backend;
        this.components = components;
        this.scheduler = scheduler;
        this.requiresAestheticsScore = requiresAestheticsScore;
    }

    /** The result: latents (scaled latent space, NCHW) or the images NHWC in [0, 1]. */
    public record Output(float[] data, int[] shape, boolean latents) {}

    public Output run(DenoisingSpec spec, TorchGenerator generator, StepListener listener, BooleanSupplier cancelled) {
        int batch = spec.batch();
        int h = spec.height() / 8, w = spec.width() / 8;
        int[] latentShape = {batch, 4, h, w};
        int hw = h * w;
        boolean cfg = spec.guidance();
        UNet2DConditionConfig unetConfig = components.unetConfig();
        int inChannels = unetConfig.inChannels();

        // 1. prompts
        PromptEmbeddings emb = components.text().encode(new PromptRequest(spec.prompt(), spec.prompt2(), spec.negativePrompt(),
                spec.negativePrompt2(), spec.imagesPerPrompt(), cfg, spec.clipSkip()));

        // 2. timesteps
        scheduler.setTimesteps(spec.steps());
        TimestepPlan plan = spec.kind() == DenoisingSpec.Kind.TEXT_TO_IMAGE
                ? TimestepPlan.text2img(scheduler, spec.denoisingEnd())
                : TimestepPlan.img2img(scheduler, spec.steps(), spec.strength(), spec.denoisingStart(), spec.denoisingEnd());
        if (plan.steps() < 1) {
            throw new IllegalArgumentException("strength " + spec.strength() + " with " + spec.steps()
                    + " steps leaves no step to run; raise strength or steps");
        }
        float latentTimestep = plan.noisingTimestep();

        // 3. latents, drawing from the generator in diffusers' order
        float[] latents;
        float[] noise = null;
        float[] imageLatents = null;
        float[] maskLatent = null;
        float[] maskedImageLatents = null;
        switch (spec.kind()) {
            case TEXT_TO_IMAGE -> latents = Latents.scale(generator.randn(latentShape), scheduler.initNoiseSigma());
            case IMAGE_TO_IMAGE -> {
                float[] init = repeatToBatch(spec.imageLatents() != null ? spec.imageLatents()
                        : encodeImage(spec.image(), spec.height(), spec.width(), generator), 4 * hw, batch);
                if (spec.denoisingStart() == null) {
                    noise = generator.randn(latentShape);
                    latents = scheduler.addNoise(init, noise, latentTimestep);
                } else {
                    latents = init;
                }
            }
            case INPAINT -> {
                boolean strengthMax = spec.strength() == 1.0;
                boolean fourChannel = inChannels == 4;
                if (!fourChannel && inChannels != 9) {
                    throw new IllegalStateException("an inpainting UNet takes 4 or 9 input channels, this one takes " + inChannels);
                }
                if (!fourChannel && spec.imageLatents() != null) {
                    throw new IllegalArgumentException("a 9-channel inpainting UNet needs a pixel image, not latents");
                }
                if (spec.imageLatents() != null) {
                    imageLatents = repeatToBatch(spec.imageLatents(), 4 * hw, batch);
                } else if (fourChannel || !strengthMax) {
                    imageLatents = repeatToBatch(encodeImage(spec.image(), spec.height(), spec.width(), generator), 4 * hw, batch);
                }
                noise = generator.randn(latentShape);
                if (spec.denoisingStart() != null) {
                    latents = imageLatents;
                } else if (strengthMax) {
                    latents = Latents.scale(noise, scheduler.initNoiseSigma());
                } else {
                    latents = scheduler.addNoise(imageLatents, noise, latentTimestep);
                }
                int rows = spec.mask().length / (spec.height() * spec.width());
                Tensor mask = Tensor.of(spec.mask(), rows, 1, spec.height(), spec.width());
                maskLatent = repeatToBatch(ImageProcessor.interpolateNearest(mask, h, w).floats(), hw, batch);
                if (spec.imageLatents() == null) {
                    Tensor image = Tensor.of(spec.image(), spec.image().length / (3 * spec.height() * spec.width()), 3,
                            spec.height(), spec.width());
                    float[] masked = ImageProcessor.maskedImage(image, mask).floats();
                    maskedImageLatents = repeatToBatch(encodeImage(masked, spec.height(), spec.width(), generator), 4 * hw, batch);
                }
            }
            default -> throw new IllegalStateException();
        }

        // 4. conditioning tensors, rows [negative…; positive…] under guidance
        Tensor context = cfg ? backend.concat(0, emb.negativePromptEmbeds(), emb.promptEmbeds()) : emb.promptEmbeds();
        int rows = cfg ? 2 * batch : batch;
        Tensor pooled = null, timeIds = null;   // SD 1/2: no pooled embedding, no micro-conditioning
        if (emb.pooledPromptEmbeds() != null) {
            pooled = cfg ? backend.concat(0, emb.negativePooledPromptEmbeds(), emb.pooledPromptEmbeds()) : emb.pooledPromptEmbeds();
            float[] ids = timeIds(spec, batch, cfg, pooled.dim(-1), unetConfig);
            timeIds = backend.fromFloats(ids, rows, ids.length / rows);
        }

        // 5. the loop
        float[] ts = plan.timesteps();
        plan.apply(scheduler);
        UNet2DConditionModel unet = components.unet();
        try {
            for (int i = 0; i < ts.length; i++) {
                if (cancelled.getAsBoolean()) throw new CancelledException(i);
                float t = ts[i];
                float[] in = scheduler.scaleModelInput(cfg ? Latents.twice(latents) : latents, t);
                float[] eps;
                try (Backend.Scope scope = backend.openScope()) {
                    Tensor sample = backend.fromFloats(in, rows, 4, h, w);
                    if (inChannels == 9) {
                        float[] m = cfg ? Latents.twice(maskLatent) : maskLatent;
                        float[] mi = cfg ? Latents.twice(maskedImageLatents) : maskedImageLatents;
                        sample = backend.concat(1, sample, backend.fromFloats(m, rows, 1, h, w), backend.fromFloats(mi, rows, 4, h, w));
                    }
                    eps = unet.forward(sample, t, context, pooled, timeIds).toFloatArray();
                }
                if (cfg) eps = Latents.guide(eps, spec.guidanceScale(), spec.guidanceRescale(), batch);
                NonFiniteOutputException.check(eps, i, ts.length, t);
                latents = scheduler.step(eps, t, latents, generator::fill).prevSample();
                if (spec.kind() == DenoisingSpec.Kind.INPAINT && inChannels == 4) {
                    float[] ref = i < ts.length - 1 ? scheduler.addNoise(imageLatents, noise, ts[i + 1]) : imageLatents;
                    latents = Latents.blend(latents, ref, maskLatent, batch, 4, hw);
                }
                listener.onStep(i, ts.length, t, latents);
            }
        } finally {
            // on CUDA the forward ran as a graph (captured at the first step, replayed since): its private
            // memory pool goes back to the cache here, for the VAE and the next model, not at the model's unload
            unet.cudaGraphs().close();
        }

        // 6. output
        if (spec.outputLatents()) return new Output(latents, latentShape, true);
        try (Backend.Scope scope = backend.openScope()) {
            AutoencoderKL vae = components.vae(h, w);
            float sf = vae.config().scalingFactor();
            Tensor decoded = vae.decode(backend.fromFloats(Latents.scale(latents, 1f / sf), latentShape));
            float[] pixels = decoded.toFloatArray();
            NonFiniteOutputException.checkDecoded(pixels);
            Tensor nhwc = ImageProcessor.postprocessNp(Tensor.of(pixels, decoded.shape()));
            return new Output(nhwc.floats(), nhwc.shape(), false);
        }
    }

    /** scaling_factor × latent_dist.sample(generator) of pixel images [n, 3, H, W]. */
    private float[] encodeImage(float[] image, int height, int width, TorchGenerator generator) {
        int n = image.length / (3 * height * width);
        AutoencoderKL vae = components.vae(height / 8, width / 8);
        try (Backend.Scope scope = backend.openScope()) {
            Tensor z = vae.encode(backend.fromFloats(image, n, 3, height, width)).sample(generator::fill);
            return Latents.scale(z.toFloatArray(), vae.config().scalingFactor());
        }
    }

    /** Rows of {@code rowSize} tiled up to {@code batch} rows, like torch's repeat in diffusers' prepare_latents. */
    private static float[] repeatToBatch(float[] x, int rowSize, int batch) {
        int rows = x.length / rowSize;
        if (rows == batch) return x;
        if (rows == 0 || batch % rows != 0) {
            throw new IllegalArgumentException("cannot duplicate " + rows + " image(s) to a batch of " + batch
                    + "; give one image, or as many as the batch");
        }
        float[] out = new float[batch * rowSize];
        for (int r = 0; r < batch / rows; r++) System.arraycopy(x, 0, out, r * x.length, x.length);
        return out;
    }

    /** Micro-conditioning time ids (spec §7.1), checked against what the UNet's add-embedding takes. */
    private float[] timeIds(DenoisingSpec spec, int batch, boolean cfg, int pooledWidth, UNet2DConditionConfig unetConfig) {
        float hgt = spec.height(), wid = spec.width();
        float[] pos, neg;
        if (requiresAestheticsScore) {
            pos = new float[] {hgt, wid, 0, 0, (float) spec.aestheticScore()};
            neg = new float[] {hgt, wid, 0, 0, (float) spec.negativeAestheticScore()};
        } else {
            pos = new float[] {hgt, wid, 0, 0, hgt, wid};
            neg = pos.clone();
        }
        int expected = unetConfig.projectionClassEmbeddingsInputDim();
        int built = pooledWidth + pos.length * unetConfig.additionTimeEmbedDim();
        if (built != expected) {
            throw new IllegalStateException("the UNet's add_embedding takes " + expected + " inputs but the pipeline builds "
                    + built + (requiresAestheticsScore
                    ? " (requires_aesthetics_score is set: a refiner config with a base UNet?)"
                    : " (requires_aesthetics_score is not set: a refiner UNet with a base config?)"));
        }
        int k = pos.length;
        float[] out = new float[(cfg ? 2 : 1) * batch * k];
        int row = 0;
        if (cfg) for (int b = 0; b < batch; b++) System.arraycopy(neg, 0, out, (row++) * k, k);
        for (int b = 0; b < batch; b++) System.arraycopy(pos, 0, out, (row++) * k, k);
        return out;
    }
}
