package io.jdiffusion.vae;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import io.jdiffusion.tensor.weights.WeightSource;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * diffusers {@code AutoencoderKL} (the SDXL VAE): {@code encoder} + {@code quant_conv} give the
 * posterior {@link DiagonalGaussianDistribution}; {@code post_quant_conv} + {@code decoder} map
 * latents back to pixels. Parameter names are diffusers' ({@code encoder.down_blocks.0.resnets.0.conv1.weight}, …).
 *
 * <p>Scaling is the caller's business, as in diffusers: pipelines encode to
 * {@code scaling_factor · (z − shift)} and decode {@code z / scaling_factor + shift}; see
 * {@link #scaleLatents} / {@link #unscaleLatents}. {@code decode} itself applies no factor.
 *
 * <p>{@code force_upcast}: the VAE should run in float32 (SDXL's VAE overflows in f16); {@link #load}
 * therefore serves weights as F32 when the config asks for it. The CPU backend computes in F32 anyway.
 *
 * <p>Instances are immutable; {@link #withTiling} returns a copy sharing the weights that tiles
 * large inputs exactly like diffusers after {@code vae.enable_tiling()}.
 */
public final class AutoencoderKL {
    /** The weight file of a diffusers VAE folder (variants and shards are found by {@link ModelFiles}). */
    public static final String WEIGHTS = ModelFiles.DIFFUSERS + ".safetensors";

    private final VaeConfig config;
    private final Backend backend;
    final Encoder encoder;
    final Decoder decoder;
    /** Null when use_quant_conv is false. */
    final Conv2d quantConv;
    /** Null when use_post_quant_conv is false. */
    final Conv2d postQuantConv;
    private final VaeTiling tiling;

    /**
     * Builds the module tree from {@code params} (a {@link Params#load} or {@link Params#shapesOnly} root).
     * The caller must call {@code params.finish()} afterwards to have missing or mis-shaped weights reported.
     */
    public AutoencoderKL(VaeConfig config, Params params) {
        this.config = config;
        this.backend = params.backend();
        int lat = config.latentChannels();
        encoder = new Encoder(params.child("encoder"), config);
        quantConv = config.useQuantConv() ? new Conv2d(params.child("quant_conv"), 2 * lat, 2 * lat, 1, 1, 0) : null;
        postQuantConv = config.usePostQuantConv() ? new Conv2d(params.child("post_quant_conv"), lat, lat, 1, 1, 0) : null;
        decoder = new Decoder(params.child("decoder"), config);
        tiling = null;
    }

    private AutoencoderKL(AutoencoderKL base, VaeTiling tiling) {
        this.config = base.config;
        this.backend = base.backend;
        this.encoder = base.encoder;
        this.decoder = base.decoder;
        this.quantConv = base.quantConv;
        this.postQuantConv = base.postQuantConv;
        this.tiling = tiling;
    }

    /**
     * Loads a diffusers VAE folder ({@code config.json} + the weights {@link ModelFiles} finds there)
     * onto {@code backend}; every missing, mis-shaped or unexpected weight is reported at once by key.
     */
    public static AutoencoderKL load(Path folder, Backend backend) {
        VaeConfig cfg = VaeConfig.load(folder.resolve("config.json"));
        // The weight files stay mapped for the model's lifetime (the CPU backend reads them in place).
        SafetensorsWeights source = ModelFiles.find(folder, ModelFiles.DIFFUSERS, null).open();
        try {
            return load(cfg, source, backend);
        } catch (RuntimeException e) {
            source.close();
            throw e;
        }
    }

    /**
     * Builds the VAE of {@code config} from any weight source holding diffusers' key names (e.g. a
     * renaming view of a single-file checkpoint's {@code first_stage_model.*} keys) and checks it:
     * every missing, mis-shaped or unexpected key is reported at once ({@link io.jdiffusion.tensor.weights.WeightException}).
     * With {@code force_upcast} the weights are served as F32.
     */
    public static AutoencoderKL load(VaeConfig config, WeightSource source, Backend backend) {
        Params p = Params.load("vae", source, backend, config.forceUpcast() ? DType.F32 : null);
        AutoencoderKL vae = new AutoencoderKL(config, p);
        p.finish();
        return vae;
    }

    public VaeConfig config() { return config; }

    public Backend backend() { return backend; }

    /** The tiling in use, or null when tiling is off. */
    public VaeTiling tiling() { return tiling; }

    /** A copy that tiles large inputs with {@code tiling} (null turns tiling off), like diffusers' {@code enable_tiling()}. */
    public AutoencoderKL withTiling(VaeTiling tiling) { return new AutoencoderKL(this, tiling); }

    /** Tiling with diffusers' default sizes for this config. */
    public AutoencoderKL withDefaultTiling() { return withTiling(VaeTiling.defaults(config)); }

    // ---- encode ------------------------------------------------------------------------------

    /**
     * {@code vae.encode(x).latent_dist}: image x [B, in_channels, H, W] (values in [-1, 1]) to the
     * posterior. Tiled when tiling is on and a side exceeds the pixel tile.
     */
    public DiagonalGaussianDistribution encode(Tensor x) {
        return new DiagonalGaussianDistribution(backend, encodeMoments(x));
    }

    /** The moments [B, 2·latent_channels, H/f, W/f] (diffusers {@code _encode}: encoder, quant_conv). */
    public Tensor encodeMoments(Tensor x) {
        checkInput("x", x, config.inChannels(), "in_channels");
        if (tiling != null && tiling.tilesImage(x.dim(2), x.dim(3))) return tiledEncodeMoments(x);
        return encodeTile(x);
    }

    /** diffusers {@code _tiled_encode} (regardless of size), then the posterior. */
    public DiagonalGaussianDistribution tiledEncode(Tensor x) {
        return new DiagonalGaussianDistribution(backend, tiledEncodeMoments(x));
    }

    private Tensor tiledEncodeMoments(Tensor x) {
        checkInput("x", x, config.inChannels(), "in_channels");
        return tiled(x, true);
    }

    /** Encodes ({@code encode}) or decodes {@code x} tile by tile, blending the seams (VaeTiling). */
    private Tensor tiled(Tensor x, boolean encode) {
        VaeTiling t = tilingOrDefault();
        int pixels = t.sampleMinSize(), latents = t.latentMinSize();
        try (Backend.Scope s = backend.openScope()) {
            return s.keep(encode ? t.run(backend, x, pixels, latents, this::encodeTile) : t.run(backend, x, latents, pixels, this::decodeTile));
        }
    }

    private Tensor encodeTile(Tensor x) {
        try (Backend.Scope s = backend.openScope()) {
            Tensor h = encoder.forward(x);
            if (quantConv != null) h = quantConv.forward(h);
            return s.keep(h);
        }
    }

    // ---- decode ------------------------------------------------------------------------------

    /**
     * {@code vae.decode(z).sample}: latents z [B, latent_channels, h, w] (already divided by the
     * scaling factor) to pixels [B, out_channels, h·f, w·f]. Tiled when tiling is on and a side
     * exceeds the latent tile.
     */
    public Tensor decode(Tensor z) {
        checkInput("z", z, config.latentChannels(), "latent_channels");
        if (tiling != null && tiling.tilesLatents(z.dim(2), z.dim(3))) return tiledDecode(z);
        return decodeTile(z);
    }

    /** diffusers {@code tiled_decode} (regardless of size). */
    public Tensor tiledDecode(Tensor z) {
        checkInput("z", z, config.latentChannels(), "latent_channels");
        return tiled(z, false);
    }

    private Tensor decodeTile(Tensor z) {
        try (Backend.Scope s = backend.openScope()) {
            Tensor h = postQuantConv == null ? z : postQuantConv.forward(z);
            return s.keep(decoder.forward(h));
        }
    }

    // ---- latent scaling ------------------------------------------------------------------------

    /** What pipelines do after encoding: {@code (z − shift_factor) · scaling_factor} (shift 0 for SDXL). */
    public Tensor scaleLatents(Tensor z) {
        if (config.shiftFactor() == null) return backend.mulScalar(z, config.scalingFactor());
        return backend.mulScalar(backend.addScalar(z, -config.shift()), config.scalingFactor());
    }

    /** What pipelines do before decoding: {@code z / scaling_factor + shift_factor}. */
    public Tensor unscaleLatents(Tensor z) {
        // A division (not a multiplication by 1/s) as diffusers' "latents / scaling_factor" does.
        Tensor d = backend.div(z, backend.full(config.scalingFactor(), 1));
        return config.shiftFactor() == null ? d : backend.addScalar(d, config.shift());
    }

    private VaeTiling tilingOrDefault() { return tiling != null ? tiling : VaeTiling.defaults(config); }

    private static void checkInput(String name, Tensor t, int channels, String what) {
        if (t.rank() != 4 || t.dim(1) != channels || t.dim(2) <= 0 || t.dim(3) <= 0) {
            throw new IllegalArgumentException(name + " must be [batch, " + channels + " (" + what + "), height, width], got "
                    + Arrays.toString(t.shape()));
        }
    }
}
