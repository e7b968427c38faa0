package io.jdiffusion.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The fields of diffusers' {@code UNet2DConditionModel} config that shape the network, with the
 * per-level fields expanded the way {@code UNet2DConditionModel.__init__} does (an int becomes one
 * value per level). Only the variants SDXL uses (and a few trivial neighbours) are accepted; every
 * other value is refused by name instead of being silently ignored.
 *
 * @param numAttentionHeads heads per level. diffusers' {@code attention_head_dim} field really holds the
 *        head COUNT (spec §3.2): {@code num_attention_heads = num_attention_heads or attention_head_dim}
 * @param transformerLayersPerBlock per down level, per resnet layer: BasicTransformerBlocks in that Transformer2DModel
 * @param reverseTransformerLayersPerBlock per up level, per layer; diffusers' reversed down list unless the config gives it
 */
public record UNet2DConditionConfig(
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        boolean flipSinToCos,
        float freqShift,
        List<String> downBlockTypes,
        String midBlockType,
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int[] layersPerBlock,
        int[][] transformerLayersPerBlock,
        int[][] reverseTransformerLayersPerBlock,
        int downsamplePadding,
        float midBlockScaleFactor,
        int normNumGroups,
        float normEps,
        int[] crossAttentionDim,
        int[] numAttentionHeads,
        boolean useLinearProjection,
        int timeEmbeddingDim,
        String timeEmbeddingActFn,
        String additionEmbedType,
        int additionTimeEmbedDim,
        int projectionClassEmbeddingsInputDim,
        int convInKernel,
        int convOutKernel) {

    public static final Set<String> DOWN_BLOCK_TYPES = Set.of("DownBlock2D", "CrossAttnDownBlock2D");
    public static final Set<String> UP_BLOCK_TYPES = Set.of("UpBlock2D", "CrossAttnUpBlock2D");

    /** Number of resolution levels. */
    public int levels() { return blockOutChannels.length; }

    /** Reads {@code config.json} of a diffusers UNet folder (or the file itself). */
    public static UNet2DConditionConfig load(Path configJsonOrFolder) {
        Path p = Files.isDirectory(configJsonOrFolder) ? configJsonOrFolder.resolve("config.json") : configJsonOrFolder;
        try {
            return parse(new ObjectMapper().readTree(p.toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read UNet config " + p, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(p + ": " + e.getMessage(), e);
        }
    }

    /** Parses config JSON text. */
    public static UNet2DConditionConfig parse(String json) {
        try {
            return parse(new ObjectMapper().readTree(json));
        } catch (IOException e) {
            throw new IllegalArgumentException("UNet config is not valid JSON: " + e.getMessage(), e);
        }
    }

    /** Builds the config the way diffusers' {@code UNet2DConditionModel.__init__} interprets it. */
    public static UNet2DConditionConfig parse(JsonNode c) {
        int[] blockOut = intList(c, "block_out_channels", null);
        int levels = blockOut.length;
        if (levels == 0) throw new IllegalArgumentException("block_out_channels is empty");
        List<String> down = strings(c, "down_block_types", List.of("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"));
        List<String> up = strings(c, "up_block_types", List.of("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"));
        if (down.size() != levels || up.size() != levels) {
            throw new IllegalArgumentException("down_block_types (" + down.size() + ") and up_block_types (" + up.size()
                    + ") must each have one entry per block_out_channels entry (" + levels + ")");
        }
        for (String t : down) if (!DOWN_BLOCK_TYPES.contains(t)) throw new IllegalArgumentException("down_block_types entry '" + t + "' is not supported; allowed: " + DOWN_BLOCK_TYPES);
        for (String t : up) if (!UP_BLOCK_TYPES.contains(t)) throw new IllegalArgumentException("up_block_types entry '" + t + "' is not supported; allowed: " + UP_BLOCK_TYPES);
        String mid = text(c, "mid_block_type", "UNetMidBlock2DCrossAttn");
        if (mid != null && !mid.equals("UNetMidBlock2DCrossAttn")) {
            throw new IllegalArgumentException("mid_block_type '" + mid + "' is not supported; allowed: UNetMidBlock2DCrossAttn or null");
        }

        // diffusers refuses num_attention_heads (the naming issue #2011) and reads heads from attention_head_dim.
        if (present(c, "num_attention_heads")) {
            throw new IllegalArgumentException("num_attention_heads must be null for UNet2DConditionModel (diffusers refuses it too); "
                    + "the head count goes in attention_head_dim");
        }
        int[] heads = perLevel(c, "attention_head_dim", 8, levels);
        int[] layers = perLevel(c, "layers_per_block", 2, levels);
        int[] cross = perLevel(c, "cross_attention_dim", 1280, levels);

        int[][] tlpb = new int[levels][];
        boolean asymmetric = false;
        JsonNode t = c.get("transformer_layers_per_block");
        for (int i = 0; i < levels; i++) {
            if (t == null || t.isNull()) tlpb[i] = filled(layers[i], 1);
            else if (t.isInt()) tlpb[i] = filled(layers[i], positive("transformer_layers_per_block", t.asInt()));
            else if (t.isArray() && t.size() == levels) {
                JsonNode e = t.get(i);
                if (e.isInt()) tlpb[i] = filled(layers[i], positive("transformer_layers_per_block", e.asInt()));
                else if (e.isArray() && e.size() == layers[i]) {
                    tlpb[i] = ints(e, "transformer_layers_per_block[" + i + "]");
                    asymmetric = true;
                } else throw new IllegalArgumentException("transformer_layers_per_block[" + i + "] must be an int or a list of layers_per_block (" + layers[i] + ") ints, got " + e);
            } else throw new IllegalArgumentException("transformer_layers_per_block must be an int or a list of " + levels + " entries, got " + t);
        }
        int[][] reverse = new int[levels][];
        JsonNode r = c.get("reverse_transformer_layers_per_block");
        if (r == null || r.isNull()) {
            if (asymmetric) {
                throw new IllegalArgumentException("reverse_transformer_layers_per_block must be given when transformer_layers_per_block holds per-layer lists (as diffusers requires)");
            }
            for (int i = 0; i < levels; i++) reverse[i] = filled(layers[levels - 1 - i] + 1, tlpb[levels - 1 - i][0]);
        } else {
            if (!r.isArray() || r.size() != levels) throw new IllegalArgumentException("reverse_transformer_layers_per_block must be a list of " + levels + " entries, got " + r);
            for (int i = 0; i < levels; i++) {
                JsonNode e = r.get(i);
                int n = layers[levels - 1 - i] + 1;
                if (e.isInt()) reverse[i] = filled(n, positive("reverse_transformer_layers_per_block", e.asInt()));
                else if (e.isArray() && e.size() == n) reverse[i] = ints(e, "reverse_transformer_layers_per_block[" + i + "]");
                else throw new IllegalArgumentException("reverse_transformer_layers_per_block[" + i + "] must be an int or a list of " + n + " ints, got " + e);
            }
        }

        requireValue(c, "act_fn", "silu");
        requireValue(c, "resnet_time_scale_shift", "default");
        requireValue(c, "time_embedding_type", "positional");
        requireValue(c, "attention_type", "default");
        for (String f : List.of("class_embed_type", "encoder_hid_dim_type", "encoder_hid_dim", "time_cond_proj_dim",
                "timestep_post_act", "num_class_embeds", "cross_attention_norm")) {
            if (present(c, f)) throw new IllegalArgumentException(f + " must be null; got " + c.get(f) + " (not used by SDXL, not supported)");
        }
        for (String f : List.of("dual_cross_attention", "class_embeddings_concat", "resnet_skip_time_act")) {
            if (c.path(f).asBoolean(false)) throw new IllegalArgumentException(f + " must be false (not used by SDXL, not supported)");
        }
        JsonNode oca = c.get("only_cross_attention");
        if (oca != null && (oca.isArray() ? containsTrue(oca) : oca.asBoolean(false))) {
            throw new IllegalArgumentException("only_cross_attention must be false (not used by SDXL, not supported)");
        }
        if (present(c, "mid_block_only_cross_attention") && c.get("mid_block_only_cross_attention").asBoolean()) {
            throw new IllegalArgumentException("mid_block_only_cross_attention must be null or false (not supported)");
        }
        if (c.has("resnet_out_scale_factor") && c.get("resnet_out_scale_factor").asDouble() != 1.0) {
            throw new IllegalArgumentException("resnet_out_scale_factor must be 1.0 (only other block types use it), got " + c.get("resnet_out_scale_factor"));
        }

        String addType = text(c, "addition_embed_type", null);
        if (addType != null && !addType.equals("text_time")) {
            throw new IllegalArgumentException("addition_embed_type '" + addType + "' is not supported; allowed: text_time or null");
        }
        String timeAct = text(c, "time_embedding_act_fn", null);
        if (timeAct != null && !timeAct.equals("silu")) {
            throw new IllegalArgumentException("time_embedding_act_fn '" + timeAct + "' is not supported; allowed: null or silu");
        }
        int timeDim = present(c, "time_embedding_dim") ? positive("time_embedding_dim", c.get("time_embedding_dim").asInt()) : blockOut[0] * 4;
        int convIn = odd("conv_in_kernel", c.path("conv_in_kernel").asInt(3));
        int convOut = odd("conv_out_kernel", c.path("conv_out_kernel").asInt(3));
        int groups = present(c, "norm_num_groups") ? positive("norm_num_groups", c.get("norm_num_groups").asInt()) : 0;
        if (groups == 0) throw new IllegalArgumentException("norm_num_groups must be set (null, i.e. no GroupNorm, is not supported)");
        for (int i = 0; i < levels; i++) {
            positive("block_out_channels[" + i + "]", blockOut[i]);
            if (blockOut[i] % groups != 0) {
                throw new IllegalArgumentException("block_out_channels[" + i + "] = " + blockOut[i] + " is not divisible by norm_num_groups = " + groups);
            }
            positive("attention_head_dim[" + i + "] (the head count)", heads[i]);
            positive("layers_per_block[" + i + "]", layers[i]);
        }
        int padding = c.path("downsample_padding").asInt(1);
        if (padding < 0) throw new IllegalArgumentException("downsample_padding must be >= 0, got " + padding);

        return new UNet2DConditionConfig(
                positive("in_channels", c.path("in_channels").asInt(4)),
                positive("out_channels", c.path("out_channels").asInt(4)),
                c.path("center_input_sample").asBoolean(false),
                c.path("flip_sin_to_cos").asBoolean(true),
                (float) c.path("freq_shift").asDouble(0),
                List.copyOf(down), mid, List.copyOf(up),
                blockOut, layers, tlpb, reverse,
                padding,
                (float) c.path("mid_block_scale_factor").asDouble(1),
                groups,
                (float) c.path("norm_eps").asDouble(1e-5),
                cross, heads,
                c.path("use_linear_projection").asBoolean(false),
                timeDim, timeAct, addType,
                addType == null ? 0 : positive("addition_time_embed_dim", c.path("addition_time_embed_dim").asInt(0)),
                addType == null ? 0 : positive("projection_class_embeddings_input_dim", c.path("projection_class_embeddings_input_dim").asInt(0)),
                convIn, convOut);
    }

    // ---- JSON helpers ------------------------------------------------------------------------

    private static boolean present(JsonNode c, String f) { return c.has(f) && !c.get(f).isNull(); }

    private static String text(JsonNode c, String f, String dflt) { return c.has(f) ? (c.get(f).isNull() ? null : c.get(f).asText()) : dflt; }

    private static void requireValue(JsonNode c, String f, String allowed) {
        if (present(c, f) && !c.get(f).asText().equals(allowed)) {
            throw new IllegalArgumentException(f + " '" + c.get(f).asText() + "' is not supported; allowed: " + allowed);
        }
    }

    private static boolean containsTrue(JsonNode a) {
        for (JsonNode e : a) if (e.asBoolean(false)) return true;
        return false;
    }

    private static List<String> strings(JsonNode c, String f, List<String> dflt) {
        if (!present(c, f)) return dflt;
        JsonNode a = c.get(f);
        if (!a.isArray()) throw new IllegalArgumentException(f + " must be a list of block type names, got " + a);
        List<String> out = new ArrayList<>();
        a.forEach(e -> out.add(e.asText()));
        return out;
    }

    private static int[] intList(JsonNode c, String f, int[] dflt) {
        if (!present(c, f)) {
            if (dflt == null) throw new IllegalArgumentException(f + " is missing");
            return dflt;
        }
        return ints(c.get(f), f);
    }

    private static int[] ints(JsonNode a, String f) {
        if (!a.isArray()) throw new IllegalArgumentException(f + " must be a list of ints, got " + a);
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            if (!a.get(i).canConvertToInt() || !a.get(i).isIntegralNumber()) throw new IllegalArgumentException(f + "[" + i + "] must be an int, got " + a.get(i));
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    /** An int (repeated per level) or a list with one int per level, as diffusers allows. */
    private static int[] perLevel(JsonNode c, String f, int dflt, int levels) {
        if (!present(c, f)) return filled(levels, dflt);
        JsonNode v = c.get(f);
        if (v.isIntegralNumber()) return filled(levels, v.asInt());
        int[] out = ints(v, f);
        if (out.length != levels) {
            throw new IllegalArgumentException(f + " has " + out.length + " entries, expected one per level (" + levels + ")");
        }
        return out;
    }

    private static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    private static int positive(String f, int v) {
        if (v <= 0) throw new IllegalArgumentException(f + " must be positive, got " + v);
        return v;
    }

    private static int odd(String f, int v) {
        if (v <= 0 || v % 2 == 0) throw new IllegalArgumentException(f + " must be a positive odd kernel size, got " + v);
        return v;
    }
}
