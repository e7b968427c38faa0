package io.jdiffusion.pipelines.profile;

import io.jdiffusion.pipelines.DeviceBudget;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.meta.MetaBackend;
import io.jdiffusion.text.PromptEmbeddings;
import io.jdiffusion.text.PromptRequest;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a whole generation on the shape-only {@link MetaBackend}: the real models (built-in names
 * use the bundled official configs with weights that are never materialised; files are mapped,
 * never read), the real device budget ({@link DeviceBudget}: loads, unloads, VAE tiling), and the
 * sampler's order of work — prompt encoding, one VAE encode when the run starts from an image,
 * the base UNet's classifier-free-guidance steps (batch 2; the latents go to the host and back
 * every step, as {@code Sampler} does), the refiner's, and the VAE decode — so the counts are those
 * of the graph a GPU would run. Nothing is computed: a 1024² base→refiner run takes seconds.
 */
public final class DeviceProfiler {
    private DeviceProfiler() {}

    /** Seeds of the built-in random models (their values are never drawn; only shapes matter). */
    private static final long SEED = 1;

    public static ProfileReport run(ProfileRequest r) {
        long t0 = System.nanoTime();
        Result limited = plan(r, r.vramBytes());
        long unlimitedPeak = r.vramBytes() > 0 ? plan(r, 0).peak : limited.peak;
        return limited.report(r, unlimitedPeak, (System.nanoTime() - t0) / 1e9);
    }

    /** Opens a model on the shape-only backend: a built-in name, or anything {@link SdxlModel#load} takes. */
    static SdxlModel open(String name, Backend meta) {
        for (Layout l : Layout.values()) {
            if (!l.sd() && l.configName().equals(name)) return SdxlModel.random(l, meta, SEED);
        }
        return SdxlModel.load(name, null, meta);
    }

    /** {@link SdxlModel#withVae}, its refusal naming {@code --vae} (checked before anything is planned). */
    private static void withVae(SdxlModel m, java.nio.file.Path vae) {
        try {
            m.withVae(vae);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--vae: " + e.getMessage(), e);
        }
    }

    /** One UNet step: {@code launches} the kernels the device runs, {@code hostLaunches} what the host queues with the UNet replayed as a CUDA graph. */
    private record Step(long activationPeak, long launches, long flops, long h2d, long d2h, long hostLaunches) {}

    private record Result(MetaBackend meta, long peak, Step base, Step refiner, List<DeviceBudget.Event> events,
                          Map<String, Long> weights) {
        ProfileReport report(ProfileRequest r, long unlimitedPeak, double seconds) {
            MetaBackend.Counters c = meta.counters();
            long weightBytes = weights.values().stream().mapToLong(Long::longValue).sum();
            int loads = 0, unloads = 0;
            String tiling = null;
            for (DeviceBudget.Event e : events) {
                if (e.kind().equals("load")) loads++;
                else if (e.kind().equals("unload")) unloads++;
                else if (e.kind().startsWith("tile")) tiling = e.kind();
            }
            Step rf = refiner != null ? refiner : new Step(0, 0, 0, 0, 0, 0);
            return new ProfileReport(r, "meta (shape-only, counts as CUDA would run)", peak, unlimitedPeak, weightBytes,
                    base.activationPeak, base.launches, base.flops, base.h2d, base.d2h, rf.activationPeak, rf.launches, rf.flops,
                    base.hostLaunches, rf.hostLaunches,
                    c.kernelLaunches(), c.gemmFlops(), c.hostToDeviceBytes(), c.hostToDeviceCopies(), c.deviceToHostBytes(),
                    c.deviceToHostCopies(), loads, unloads, tiling, weights, c.peakByComponent(), seconds);
        }
    }

    private static Result plan(ProfileRequest r, long vram) {
        MetaBackend meta = new MetaBackend(r.dtype());
        DeviceBudget budget = vram > 0 ? DeviceBudget.of(meta, vram) : DeviceBudget.unlimited(meta);
        int lh = r.height() / 8, lw = r.width() / 8;
        Map<String, Long> weights = new LinkedHashMap<>();
        try (SdxlModel base = open(r.model(), meta).deviceBudget(budget);
             SdxlModel refiner = r.refiner() == null ? null : open(r.refiner(), meta).deviceBudget(budget)) {
            if (r.vae() != null) {
                // as the generation commands do with --vae: both models decode (and encode) with it
                withVae(base, r.vae());
                if (refiner != null) withVae(refiner, r.vae());
            }
            Step baseStep = runModel("base", base, r, r.baseSteps(), lh, lw, meta);
            Step refinerStep = refiner == null ? null : runModel("refiner", refiner, r, r.refinerSteps(), lh, lw, meta);
            SdxlModel last = refiner != null ? refiner : base;
            meta.component("VAE decode");
            try (Backend.Scope s = meta.openScope()) {
                AutoencoderKL vae = last.vaeFor(lh, lw);
                vae.decode(meta.fromFloats(new float[4 * lh * lw], 1, 4, lh, lw)).toFloatArray();
            }
            // every component's weights, from its (last) load
            for (DeviceBudget.Event ev : budget.events()) if (ev.kind().equals("load")) weights.put(ev.component(), ev.bytes());
            // the events of the run itself (closing the models at the end unloads everything once more)
            return new Result(meta, meta.peakBytesInUse(), baseStep, refinerStep, budget.events(), weights);
        }
    }

    /** One model's share: its prompt encoding, its image encode, its denoising steps; returns its first step's counts. */
    private static Step runModel(String role, SdxlModel m, ProfileRequest r, int steps, int lh, int lw, MetaBackend meta) {
        try (Backend.Scope outer = meta.openScope()) {
            meta.component(role + " text encoders");
            PromptEmbeddings e = m.text().encode(PromptRequest.of("a photo of a vase").withNegativePrompt("blurry"));
            if (r.encodesImage()) {
                meta.component("VAE encode");
                try (Backend.Scope s = meta.openScope()) {
                    AutoencoderKL vae = m.vaeFor(lh, lw);
                    vae.encodeMoments(meta.fromFloats(new float[3 * r.width() * r.height()], 1, 3, r.height(), r.width())).toFloatArray();
                }
            }
            meta.component(role + " UNet");
            UNet2DConditionModel unet = m.unet();
            UNet2DConditionConfig c = m.unetConfig();
            Tensor context = meta.concat(0, e.negativePromptEmbeds(), e.promptEmbeds());
            Tensor pooled = meta.concat(0, e.negativePooledPromptEmbeds(), e.pooledPromptEmbeds());
            int ids = (c.projectionClassEmbeddingsInputDim() - pooled.dim(1)) / c.additionTimeEmbedDim();
            Tensor timeIds = Tensor.of(new float[2 * ids], 2, ids); // host values, as the sampler builds them
            Step first = null;
            for (int i = 0; i < steps; i++) {
                MetaBackend.Counters before = meta.counters();
                meta.startWindow();
                try (Backend.Scope s = meta.openScope()) {
                    Tensor sample = meta.fromFloats(new float[2 * c.inChannels() * lh * lw], 2, c.inChannels(), lh, lw);
                    unet.forward(sample, 999f - i, context, pooled, timeIds).toFloatArray();
                }
                MetaBackend.Counters d = meta.counters().since(before);
                long act = meta.windowPeak() - before.bytesInUse();
                if (first == null) first = new Step(act, d.kernelLaunches(), d.gemmFlops(), d.hostToDeviceBytes(), d.deviceToHostBytes(), d.hostLaunches());
            }
            return first;
        }
    }
}
