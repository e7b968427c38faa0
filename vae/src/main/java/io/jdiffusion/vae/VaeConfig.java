package io.jdiffusion.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fields of diffusers' {@code AutoencoderKL} config ({@code vae/config.json}) that shape the
 * model. Defaults are diffusers' constructor defaults, used when a key is absent.
 *
 * @param sampleSize        {@code sample_size}; diffusers accepts an int or a list, whose first
 *                          entry it uses for the latent tile size; we keep that first entry
 * @param shiftFactor       {@code shift_factor}, null when absent or null (SDXL has none)
 * @param latentsMean       {@code latents_mean}, null when absent (SDXL has none)
 * @param latentsStd        {@code latents_std}, null when absent
 */
public record VaeConfig(
        int inChannels,
        int outChannels,
        int latentChannels,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int layersPerBlock,
        String actFn,
        int normNumGroups,
        int sampleSize,
        float scalingFactor,
        Float shiftFactor,
        float[] latentsMean,
        float[] latentsStd,
        boolean forceUpcast,
        boolean useQuantConv,
        boolean usePostQuantConv,
        boolean midBlockAddAttention) {

    /** Every GroupNorm of diffusers' VAE Encoder/Decoder uses this epsilon (hard-wired there, not in the config). */
    public static final float NORM_EPS = 1e-6f;

    public VaeConfig {
        blockOutChannels = blockOutChannels.clone();
        downBlockTypes = List.copyOf(downBlockTypes);
        upBlockTypes = List.copyOf(upBlockTypes);
        requirePositive("in_channels", inChannels);
        requirePositive("out_channels", outChannels);
        requirePositive("latent_channels", latentChannels);
        requirePositive("layers_per_block", layersPerBlock);
        requirePositive("norm_num_groups", normNumGroups);
        requirePositive("sample_size", sampleSize);
        if (blockOutChannels.length == 0) throw new IllegalArgumentException("block_out_channels must not be empty");
        for (int c : blockOutChannels) {
            requirePositive("block_out_channels entry", c);
            if (c % normNumGroups != 0) {
                throw new IllegalArgumentException("block_out_channels entry " + c + " is not divisible by norm_num_groups "
                        + normNumGroups + " (GroupNorm needs whole groups)");
            }
        }
        if (downBlockTypes.size() != blockOutChannels.length || upBlockTypes.size() != blockOutChannels.length) {
            throw new IllegalArgumentException("down_block_types (" + downBlockTypes.size() + ") and up_block_types ("
                    + upBlockTypes.size() + ") must have one entry per block_out_channels entry (" + blockOutChannels.length + ")");
        }
        for (String t : downBlockTypes) {
            if (!t.equals("DownEncoderBlock2D")) {
                throw new IllegalArgumentException("down_block_types entry '" + t + "' is not supported; allowed: DownEncoderBlock2D");
            }
        }
        for (String t : upBlockTypes) {
            if (!t.equals("UpDecoderBlock2D")) {
                throw new IllegalArgumentException("up_block_types entry '" + t + "' is not supported; allowed: UpDecoderBlock2D");
            }
        }
        if (!actFn.equals("silu") && !actFn.equals("swish")) {
            throw new IllegalArgumentException("act_fn '" + actFn + "' is not supported; allowed: silu (alias swish)");
        }
        if (!(scalingFactor > 0f) || !Float.isFinite(scalingFactor)) {
            throw new IllegalArgumentException("scaling_factor must be a positive finite number, got " + scalingFactor);
        }
        latentsMean = latentsMean == null ? null : latentsMean.clone();
        latentsStd = latentsStd == null ? null : latentsStd.clone();
    }

    private static void requirePositive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + " must be positive, got " + v);
    }

    @Override public int[] blockOutChannels() { return blockOutChannels.clone(); }

    /** Number of resolution levels (= entries of block_out_channels). */
    public int levels() { return blockOutChannels.length; }

    /** Width of level {@code i}. */
    public int channels(int i) { return blockOutChannels[i]; }

    /** Pixel-to-latent factor 2^(levels-1), what pipelines call {@code vae_scale_factor} (8 for SDXL). */
    public int scaleFactor() { return 1 << (levels() - 1); }

    /** The shift_factor, 0 when the config has none. */
    public float shift() { return shiftFactor == null ? 0f : shiftFactor; }

    /** Reads {@code config.json} of a diffusers VAE folder (or the file itself). */
    public static VaeConfig load(Path configJsonOrFolder) {
        Path p = configJsonOrFolder.toFile().isDirectory() ? configJsonOrFolder.resolve("config.json") : configJsonOrFolder;
        try {
            return fromJson(new ObjectMapper().readTree(p.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read VAE config " + p, e);
        }
    }

    public static VaeConfig fromJson(JsonNode n) {
        String cls = n.path("_class_name").asText("AutoencoderKL");
        if (!cls.equals("AutoencoderKL")) {
            throw new IllegalArgumentException("_class_name '" + cls + "' is not supported; allowed: AutoencoderKL");
        }
        int[] blocks = ints(n, "block_out_channels", new int[] {64});
        JsonNode ss = n.get("sample_size");
        int sampleSize = ss == null || ss.isNull() ? 32 : ss.isArray() ? ss.get(0).asInt() : ss.asInt();
        JsonNode shift = n.get("shift_factor");
        return new VaeConfig(
                n.path("in_channels").asInt(3),
                n.path("out_channels").asInt(3),
                n.path("latent_channels").asInt(4),
                strings(n, "down_block_types", List.of("DownEncoderBlock2D")),
                strings(n, "up_block_types", List.of("UpDecoderBlock2D")),
                blocks,
                n.path("layers_per_block").asInt(1),
                n.path("act_fn").asText("silu"),
                n.path("norm_num_groups").asInt(32),
                sampleSize,
                (float) n.path("scaling_factor").asDouble(0.18215),
                shift == null || shift.isNull() ? null : (float) shift.asDouble(),
                floats(n, "latents_mean"),
                floats(n, "latents_std"),
                n.path("force_upcast").asBoolean(true),
                bool(n, "use_quant_conv", true),
                bool(n, "use_post_quant_conv", true),
                bool(n, "mid_block_add_attention", true));
    }

    private static boolean bool(JsonNode n, String key, boolean dflt) {
        JsonNode v = n.get(key);
        return v == null || v.isNull() ? dflt : v.asBoolean();
    }

    private static int[] ints(JsonNode n, String key, int[] dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isArray()) throw new IllegalArgumentException(key + " must be a list of integers, got " + v);
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) out[i] = v.get(i).asInt();
        return out;
    }

    private static float[] floats(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return null;
        if (!v.isArray()) throw new IllegalArgumentException(key + " must be a list of numbers or null, got " + v);
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) v.get(i).asDouble();
        return out;
    }

    private static List<String> strings(JsonNode n, String key, List<String> dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.isArray()) throw new IllegalArgumentException(key + " must be a list of block type names, got " + v);
        List<String> out = new ArrayList<>();
        v.forEach(e -> out.add(e.asText()));
        return out;
    }
}
