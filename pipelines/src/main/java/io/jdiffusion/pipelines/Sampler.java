package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;

import java.util.function.BooleanSupplier;

/**
 * The SDXL denoising run, written out plainly in diffusers' order so that one seed consumes the
 * generator exactly as diffusers does (spec §7, §8.5): text-to-image, image-to-image (also the
 * refiner's half of the handoff) and inpainting with 4- or 9-channel UNets.
 */
public final class Sampler {
    private final Backend backend;
    private final PromptEncoder promptEncoder;
    private final Denoiser unet;
    private final Autoencoder vae;
    private final StepScheduler scheduler;
    private final boolean requiresAestheticsScore;

    public Sampler(Backend backend, PromptEncoder promptEncoder, Denoiser unet, Autoencoder vae,
                   StepScheduler scheduler, boolean requiresAestheticsScore) {
        this.backend = backend;
        this.promptEncoder = promptEncoder;
        this.unet = unet;
        this.vae = vae;
        this.scheduler = scheduler;
        this.requiresAestheticsScore = requiresAestheticsScore;
    }

    /** The result: latents (scaled latent space) or the image NHWC in [0, 1]. */
    public record Output(float[] data, int[] shape, boolean latents) {}

    public Output run(DenoisingSpec spec, NoiseSource generator, StepListener listener, BooleanSupplier cancelled) {
        int batch = spec.batch();
        int h = spec.height() / 8, w = spec.width() / 8;
        int[] latentShape = {batch, 4, h, w};
        int hw = h * w;
        boolean cfg = spec.guidance();

        // 1. prompts
        PromptEmbeddings emb = promptEncoder.encode(spec.prompt(), spec.prompt2(), spec.negativePrompt(),
                spec.negativePrompt2(), spec.imagesPerPrompt(), cfg, spec.clipSkip());

        // 2. timesteps
        scheduler.setTimesteps(spec.steps());
        float[] all = scheduler.timesteps();
        int train = scheduler.numTrainTimesteps();
        TimestepWindow window = spec.kind() == DenoisingSpec.Kind.TEXT_TO_IMAGE
                ? new TimestepWindow(all, 0)
                : TimestepWindow.start(all, spec.steps(), spec.strength(), spec.denoisingStart(), train, scheduler.order());
        if (window.timesteps().length < 1) {
            throw new IllegalArgumentException("strength " + spec.strength() + " with " + spec.steps()
                    + " steps leaves no step to run; raise strength or steps");
        }
        float latentTimestep = window.timesteps()[0];

        // 3. latents (generator draws in diffusers' order)
        float[] latents;
        float[] noise = null;
        float[] imageLatents = null;
        float[] maskLatent = null;
        float[] maskedImageLatents = null;
        switch (spec.kind()) {
            case TEXT_TO_IMAGE -> latents = Latents.scale(generator.randn(latentShape), scheduler.initNoiseSigma());
            case IMAGE_TO_IMAGE -> {
                float[] init = spec.imageLatents() != null
                        ? repeatToBatch(spec.imageLatents(), 4 * hw, batch)
                        : repeatToBatch(encodeImage(spec.image(), spec.height(), spec.width(), generator), 4 * hw, batch);
                if (spec.denoisingStart() == null) {
                    noise = generator.randn(latentShape);
                    latents = scheduler.addNoise(init, noise, latentTimestep);
                } else {
                    latents = init;
                }
            }
            case INPAINT -> {
                boolean strengthMax = spec.strength() == 1.0;
                boolean fourChannel = unet.inChannels() == 4;
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
                maskLatent = repeatToBatch(MaskLatents.nearestDownsample(spec.mask(), spec.height(), spec.width()), hw, batch);
                if (spec.imageLatents() == null) {
                    float[] masked = MaskLatents.maskedImage(spec.image(), spec.mask(), spec.height() * spec.width());
                    maskedImageLatents = repeatToBatch(encodeImage(masked, spec.height(), spec.width(), generator), 4 * hw, batch);
                }
                if (!fourChannel && unet.inChannels() != 9) {
                    throw new IllegalStateException("an inpainting UNet takes 4 or 9 input channels, this one takes " + unet.inChannels());
                }
                if (!fourChannel && maskedImageLatents == null) {
                    throw new IllegalArgumentException("a 9-channel inpainting UNet needs a pixel image (image), not latents");
                }
            }
            default -> throw new IllegalStateException();
        }

        // 4. conditioning tensors
        Tensor context = cfg ? backend.concat(0, emb.negativeContext(), emb.context()) : emb.context();
        Tensor pooled = cfg ? backend.concat(0, emb.negativePooled(), emb.pooled()) : emb.pooled();
        Tensor timeIds = backend.upload(Tensor.of(timeIds(spec, batch, cfg), (cfg ? 2 : 1) * batch, unet.timeIdCount()));

        // 5. denoising_end truncation and the loop
        TimestepWindow run = window.end(spec.denoisingEnd(), train);
        float[] ts = run.timesteps();
        scheduler.setBeginIndex(run.beginIndex());
        for (int i = 0; i < ts.length; i++) {
            if (cancelled.getAsBoolean()) throw new CancelledException(i);
            float t = ts[i];
            float[] in = scheduler.scaleModelInput(cfg ? Latents.twice(latents) : latents, t);
            int rows = cfg ? 2 * batch : batch;
            Tensor sample;
            if (unet.inChannels() == 9) {
                float[] m = cfg ? Latents.twice(maskLatent) : maskLatent;
                float[] mi = cfg ? Latents.twice(maskedImageLatents) : maskedImageLatents;
                sample = backend.concat(1, backend.fromFloats(in, rows, 4, h, w), backend.fromFloats(m, rows, 1, h, w),
                        backend.fromFloats(mi, rows, 4, h, w));
            } else {
                sample = backend.fromFloats(in, rows, 4, h, w);
            }
            float[] eps;
            try (Backend.Scope scope = backend.openScope()) {
                eps = unet.predict(sample, t, context, pooled, timeIds).toFloatArray();
            }
            if (cfg) eps = Latents.guide(eps, spec.guidanceScale(), spec.guidanceRescale(), batch);
            latents = scheduler.step(eps, t, latents, generator);
            if (spec.kind() == DenoisingSpec.Kind.INPAINT && unet.inChannels() == 4) {
                float[] ref = i < ts.length - 1 ? scheduler.addNoise(imageLatents, noise, ts[i + 1]) : imageLatents;
                latents = Latents.blend(latents, ref, maskLatent, batch, 4, hw);
            }
            listener.onStep(i, ts.length, t, latents);
        }

        // 6. output
        if (spec.outputLatents()) return new Output(latents, latentShape, true);
        Tensor decoded = vae.decode(backend.fromFloats(Latents.scale(latents, 1f / vae.scalingFactor()), latentShape));
        return new Output(ImageTensors.toNhwc01(decoded.toFloatArray(), batch, 3, spec.height(), spec.width()),
                new int[] {batch, spec.height(), spec.width(), 3}, false);
    }

    /** scaling_factor × latent_dist.sample(generator) of a pixel image [n, 3, H, W]. */
    private float[] encodeImage(float[] image, int height, int width, NoiseSource generator) {
        int n = image.length / (3 * height * width);
        Tensor z = vae.encodeSample(backend.fromFloats(image, n, 3, height, width), generator);
        return Latents.scale(z.toFloatArray(), vae.scalingFactor());
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

    /** Micro-conditioning time ids, rows [negative…; positive…] under guidance (spec §7.1). */
    private float[] timeIds(DenoisingSpec spec, int batch, boolean cfg) {
        float hgt = spec.height(), wid = spec.width();
        float[] pos, neg;
        if (requiresAestheticsScore) {
            pos = new float[] {hgt, wid, 0, 0, (float) spec.aestheticScore()};
            neg = new float[] {hgt, wid, 0, 0, (float) spec.negativeAestheticScore()};
        } else {
            pos = new float[] {hgt, wid, 0, 0, hgt, wid};
            neg = pos.clone();
        }
        if (pos.length != unet.timeIdCount()) {
            throw new IllegalStateException("the UNet takes " + unet.timeIdCount() + " time ids but the pipeline builds "
                    + pos.length + (requiresAestheticsScore ? " (requires_aesthetics_score is set: a refiner config with a base UNet?)"
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
