package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.checkpoint.BuiltinConfigs;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.RandomWeights;
import io.jdiffusion.text.CLIPTextConfig;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.text.CLIPTextModelWithProjection;
import io.jdiffusion.text.CLIPTokenizer;
import io.jdiffusion.text.SdxlPromptEncoder;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.unet.UNet2DConditionModel;
import io.jdiffusion.vae.AutoencoderKL;
import io.jdiffusion.vae.VaeConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Full-size SDXL parts (base 1.0, refiner 1.0, inpainting 0.1: the official configs shipped in
 * {@link BuiltinConfigs}) with {@link RandomWeights}, for benchmarks and size/shape tests without
 * a checkpoint. Weights are stored as {@link #weightType} says (F16 read in place on the CPU, the
 * compute dtype on a device); the VAE keeps its config's force_upcast (F32 weights).
 *
 * <p>The same seed gives the same numbers on every backend: that is how the CUDA backend is checked
 * against the CPU one at full size.
 */
public final class RandomSdxl {
    private RandomSdxl() {}

    /** The folder of the official configs of {@code layout}. */
    public static Path configs(Layout layout) { return BuiltinConfigs.folder(layout); }

    public static UNet2DConditionConfig unetConfig(Layout layout) {
        return UNet2DConditionConfig.load(configs(layout).resolve("unet/config.json"));
    }

    public static VaeConfig vaeConfig(Layout layout) { return VaeConfig.load(configs(layout).resolve("vae/config.json")); }

    /**
     * The dtype random weights are stored in, and uploaded as, for this backend: F16 on the CPU (read
     * in place, lazily), the compute dtype on a device (weights live in the type the device computes in;
     * F32 ones are the F16 draws widened, so every backend sees the same numbers).
     */
    public static DType weightType(Backend backend) {
        return backend.device().kind() == io.jdiffusion.tensor.Device.Kind.CPU ? DType.F16 : backend.computeType();
    }

    private static <T> T build(String name, Consumer<Params> shapes, Function<Params, T> make, Backend backend, DType dtype, long seed) {
        Map<String, int[]> s = RandomWeights.shapesOf(name, shapes);
        // F32 on a device: the F16 draws served widened, so the upload is a copy, not a cast kernel per weight
        DType stored = dtype == DType.F32 && backend.device().kind() == io.jdiffusion.tensor.Device.Kind.CPU ? DType.F16 : dtype;
        try (RandomWeights w = RandomWeights.forBackend(s, seed, stored, backend)) {
            // the CPU keeps the lazy tensors (closing the source frees nothing they need); a device converts
            // the draws once, at load, to the type it computes in (as it does a checkpoint's weights), so F16
            // draws on a BF16 device are the F16 numbers rounded to BF16
            Params p = Params.load(name, w, backend, null);
            T m = make.apply(p);
            p.finish();
            return m;
        }
    }

    /** The UNet of {@code config} with random weights of {@code dtype} (F32 ones are drawn as F16 and widened). */
    public static UNet2DConditionModel unet(UNet2DConditionConfig config, Backend backend, DType dtype, long seed) {
        return build("unet", p -> new UNet2DConditionModel(config, p), p -> new UNet2DConditionModel(config, p), backend, dtype, seed);
    }

    public static UNet2DConditionModel unet(Layout layout, Backend backend, long seed) {
        return unet(unetConfig(layout), backend, weightType(backend), seed);
    }

    /** The VAE with weights of {@code dtype} (null: F32 when the config asks for force_upcast, else the backend's weight type). */
    public static AutoencoderKL vae(Layout layout, Backend backend, DType dtype, long seed) {
        VaeConfig cfg = vaeConfig(layout);
        DType d = dtype != null ? dtype : cfg.forceUpcast() ? DType.F32 : weightType(backend);
        return build("vae", p -> new AutoencoderKL(cfg, p), p -> new AutoencoderKL(cfg, p), backend, d, seed);
    }

    public static CLIPTextModel clipL(Layout layout, Backend backend, long seed) { return clipL(layout, backend, weightType(backend), seed); }

    /** CLIP ViT-L with random weights of {@code dtype} (F32 ones are drawn as F16 and widened). */
    public static CLIPTextModel clipL(Layout layout, Backend backend, DType dtype, long seed) {
        CLIPTextConfig cfg = CLIPTextConfig.read(configs(layout).resolve("text_encoder/config.json"));
        return build("text_encoder", p -> new CLIPTextModel(cfg, p), p -> new CLIPTextModel(cfg, p), backend, dtype, seed);
    }

    public static CLIPTextModelWithProjection bigG(Layout layout, Backend backend, long seed) { return bigG(layout, backend, weightType(backend), seed); }

    /** OpenCLIP bigG with random weights of {@code dtype} (F32 ones are drawn as F16 and widened). */
    public static CLIPTextModelWithProjection bigG(Layout layout, Backend backend, DType dtype, long seed) {
        CLIPTextConfig cfg = CLIPTextConfig.read(configs(layout).resolve("text_encoder_2/config.json"));
        return build("text_encoder_2", p -> new CLIPTextModelWithProjection(cfg, p), p -> new CLIPTextModelWithProjection(cfg, p),
                backend, dtype, seed + 1);
    }

    /** Both text encoders (only bigG for the refiner) with the real tokenizers. */
    public static SdxlPromptEncoder promptEncoder(Layout layout, Backend backend, long seed) {
        Path c = configs(layout);
        boolean hasL = Files.isDirectory(c.resolve("text_encoder"));
        CLIPTokenizer tok1 = hasL ? CLIPTokenizer.load(c.resolve("tokenizer")) : null;
        CLIPTextModel te1 = hasL ? clipL(layout, backend, seed) : null;
        return new SdxlPromptEncoder(tok1, te1, CLIPTokenizer.load(c.resolve("tokenizer_2")), bigG(layout, backend, seed), backend,
                SdxlModel.readJson(c.resolve("model_index.json")).path("force_zeros_for_empty_prompt").asBoolean(true));
    }

    /**
     * One forward pass of the random full-size UNet of {@code layout} on {@code backend}, batch 1,
     * latents side × side, a context of {@code tokens} tokens, t = 500, inputs drawn from
     * {@code java.util.Random(inputSeed)}: the same numbers on every backend, for cross-backend checks.
     */
    public static float[] unetForward(Backend backend, Layout layout, long seed, int side, int tokens, long inputSeed) {
        return unetForward(backend, layout, weightType(backend), seed, side, tokens, inputSeed);
    }

    /** {@link #unetForward(Backend, Layout, long, int, int, long)} with weights of {@code dtype} (F32: drawn as F16, widened). */
    public static float[] unetForward(Backend backend, Layout layout, DType dtype, long seed, int side, int tokens, long inputSeed) {
        UNet2DConditionConfig c = unetConfig(layout);
        int pooled = CLIPTextConfig.read(configs(layout).resolve("text_encoder_2/config.json")).projectionDim();
        int ids = (c.projectionClassEmbeddingsInputDim() - pooled) / c.additionTimeEmbedDim();
        java.util.Random r = new java.util.Random(inputSeed);
        float[] x = gauss(r, c.inChannels() * side * side), ctx = gauss(r, tokens * c.crossAttentionDim()[0]), p = gauss(r, pooled);
        float px = side * 8f;
        // micro-conditioning: original size, crop corner, then target size (base) or aesthetic score (refiner)
        float[] t = ids == 5 ? new float[] {px, px, 0, 0, 6f} : new float[] {px, px, 0, 0, px, px};
        if (t.length != ids) throw new IllegalStateException("the UNet's add_embedding takes " + ids + " time ids, expected 5 or 6");
        UNet2DConditionModel unet = unet(c, backend, dtype, seed);
        try (Backend.Scope s = backend.openScope()) {
            return unet.forward(backend.fromFloats(x, 1, c.inChannels(), side, side), 500f,
                    backend.fromFloats(ctx, 1, tokens, c.crossAttentionDim()[0]), backend.fromFloats(p, 1, pooled),
                    backend.fromFloats(t, 1, ids)).toFloatArray();
        }
    }

    private static float[] gauss(java.util.Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    /** max |a − ref| / max |ref|, with the index of the largest difference; NaN when a value is not finite. */
    public record Error(double relative, double maxDiff, double maxRef, int at) {
        public static Error of(float[] ref, float[] a) {
            if (ref.length != a.length) throw new IllegalArgumentException("lengths differ: " + ref.length + " and " + a.length);
            double maxRef = 0, maxDiff = 0;
            int at = -1;
            for (int i = 0; i < a.length; i++) {
                if (!Float.isFinite(a[i])) return new Error(Double.NaN, Double.NaN, maxRef, i);
                maxRef = Math.max(maxRef, Math.abs(ref[i]));
                double d = Math.abs((double) a[i] - ref[i]);
                if (d > maxDiff) {
                    maxDiff = d;
                    at = i;
                }
            }
            return new Error(maxDiff / maxRef, maxDiff, maxRef, at);
        }

        @Override
        public String toString() {
            return String.format(java.util.Locale.ROOT, "relative %.3e (max |diff| %.3e at %d, max |ref| %.3e)", relative, maxDiff, at, maxRef);
        }
    }
}
