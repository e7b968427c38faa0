package io.jdiffusion.pipelines.checkpoint;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place where Stability's original single-file names (SGM/LDM/OpenCLIP, spec §4) meet
 * diffusers' names, in both directions. Keys here are relative to a component (no
 * "model.diffusion_model." etc. prefix). A diffusers key maps to one original key with a
 * {@link Piece.Kind transformation}: a rename, a squeezed 1×1 conv, a row slice of OpenCLIP's
 * fused q/k/v projection, or a transpose (OpenCLIP's text_projection).
 */
final class OriginalKeys {
    private OriginalKeys() {}

    /** Where a diffusers tensor comes from in the original file. */
    public record Piece(String originalKey, Kind kind, int part) {
        public enum Kind {
            /** same bytes, same shape */
            SAME,
            /** a [C, C, 1, 1] 1×1 conv read as a [C, C] linear weight */
            SQUEEZE,
            /** rows part·n … (part+1)·n of a fused [3n, …] q/k/v tensor */
            QKV_ROWS,
            /** the transpose of a 2-D tensor */
            TRANSPOSE
        }

        static Piece same(String k) { return new Piece(k, Kind.SAME, 0); }
    }

    /** Original keys that hold no weight of ours (buffers, training leftovers). */
    public static boolean ignored(Component c, String originalKey) {
        return originalKey.endsWith("position_ids") || originalKey.equals("logit_scale") || originalKey.endsWith("attn_mask");
    }

    // ---- original → diffusers -------------------------------------------------------------------

    /**
     * The diffusers keys an original key becomes (three for a fused in_proj tensor), each with its
     * piece description. {@code unetBlockStride} is the UNet's layers_per_block + 1;
     * {@code vaeLevels} the VAE's number of blocks (len(block_out_channels)).
     */
    public static List<Mapped> toDiffusers(Component c, String key, int unetBlockStride, int vaeLevels) {
        return switch (c) {
            case UNET -> List.of(new Mapped(unetToDiffusers(key, unetBlockStride), Piece.same(key)));
            case VAE -> {
                String d = vaeToDiffusers(key, vaeLevels);
                boolean squeeze = d.matches(".*mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight");
                yield List.of(new Mapped(d, squeeze ? new Piece(key, Piece.Kind.SQUEEZE, 0) : Piece.same(key)));
            }
            case TEXT_ENCODER -> List.of(new Mapped(clipLToDiffusers(key), Piece.same(key)));
            case TEXT_ENCODER_2 -> bigGToDiffusers(key);
        };
    }

    /**
     * {@link #toDiffusers(Component, String, int, int)} for a component of {@code layout}: SD 2's text
     * encoder is OpenCLIP ViT-H stored like SDXL's bigG, read into a CLIPTextModel (no text_model.
     * prefix, no text_projection: diffusers' convert drops it, and the last resblock, which
     * {@link SingleFileCheckpoint} leaves out).
     */
    public static List<Mapped> toDiffusers(Layout layout, Component c, String key, int unetBlockStride, int vaeLevels) {
        if (layout != Layout.SD2 || c != Component.TEXT_ENCODER) return toDiffusers(c, key, unetBlockStride, vaeLevels);
        if (key.equals("text_projection")) return List.of();
        return bigGToDiffusers(key).stream().map(m -> new Mapped(clipLToDiffusers(m.diffusersKey()), m.piece())).toList();
    }

    /** The index of an OpenCLIP resblock key ("transformer.resblocks.N.…"), or -1 for other keys. */
    static int resblock(String key) {
        Matcher m = RESBLOCK.matcher(key);
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** One diffusers key and where its bytes come from. */
    public record Mapped(String diffusersKey, Piece piece) {}

    private static final Pattern INPUT = Pattern.compile("input_blocks\\.(\\d+)\\.(\\d+)\\.(.*)");
    private static final Pattern OUTPUT = Pattern.compile("output_blocks\\.(\\d+)\\.(\\d+)\\.(.*)");
    private static final Pattern MIDDLE = Pattern.compile("middle_block\\.(\\d+)\\.(.*)");

    static String unetToDiffusers(String k, int stride) {
        for (String[] r : UNET_FIXED) if (k.startsWith(r[0])) return r[1] + k.substring(r[0].length());
        Matcher m = INPUT.matcher(k);
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1)), sub = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            int b = (n - 1) / stride, l = (n - 1) % stride;
            if (sub == 0 && rest.startsWith("op.")) return "down_blocks." + b + ".downsamplers.0.conv." + rest.substring(3);
            if (sub == 0) return "down_blocks." + b + ".resnets." + l + "." + resnetToDiffusers(rest);
            if (sub == 1) return "down_blocks." + b + ".attentions." + l + "." + rest;
        }
        m = MIDDLE.matcher(k);
        if (m.matches()) {
            return switch (m.group(1)) {
                case "0" -> "mid_block.resnets.0." + resnetToDiffusers(m.group(2));
                case "1" -> "mid_block.attentions.0." + m.group(2);
                case "2" -> "mid_block.resnets.1." + resnetToDiffusers(m.group(2));
                default -> throw unknown(Component.UNET, k);
            };
        }
        m = OUTPUT.matcher(k);
        if (m.matches()) {
            int n = Integer.parseInt(m.group(1)), sub = Integer.parseInt(m.group(2));
            String rest = m.group(3);
            int b = n / stride, l = n % stride;
            if (sub == 0) return "up_blocks." + b + ".resnets." + l + "." + resnetToDiffusers(rest);
            if (rest.startsWith("conv.")) return "up_blocks." + b + ".upsamplers.0.conv." + rest.substring(5);
            if (sub == 1) return "up_blocks." + b + ".attentions." + l + "." + rest;
        }
        throw unknown(Component.UNET, k);
    }

    private static final String[][] UNET_FIXED = {
            {"time_embed.0.", "time_embedding.linear_1."}, {"time_embed.2.", "time_embedding.linear_2."},
            {"label_emb.0.0.", "add_embedding.linear_1."}, {"label_emb.0.2.", "add_embedding.linear_2."},
            {"input_blocks.0.0.", "conv_in."}, {"out.0.", "conv_norm_out."}, {"out.2.", "conv_out."}};

    private static final String[][] RESNET = {
            {"in_layers.0.", "norm1."}, {"in_layers.2.", "conv1."}, {"emb_layers.1.", "time_emb_proj."},
            {"out_layers.0.", "norm2."}, {"out_layers.3.", "conv2."}, {"skip_connection.", "conv_shortcut."}};

    private static String resnetToDiffusers(String rest) {
        for (String[] r : RESNET) if (rest.startsWith(r[0])) return r[1] + rest.substring(r[0].length());
        throw new IllegalArgumentException("unknown ResBlock parameter '" + rest + "'");
    }

    private static final Pattern VAE_DOWN = Pattern.compile("encoder\\.down\\.(\\d+)\\.(block\\.(\\d+)|downsample)\\.(.*)");
    private static final Pattern VAE_UP = Pattern.compile("decoder\\.up\\.(\\d+)\\.(block\\.(\\d+)|upsample)\\.(.*)");
    private static final Pattern VAE_MID = Pattern.compile("(encoder|decoder)\\.mid\\.(block_1|block_2|attn_1)\\.(.*)");

    static String vaeToDiffusers(String k, int levels) {
        String level = vaeLevel(k, levels, VAE_DOWN, VAE_UP, new String[] {"encoder.down_blocks.", "decoder.up_blocks.", ".resnets.",
                ".downsamplers.0.", ".upsamplers.0."}, OriginalKeys::vaeResnet);
        if (level != null) return level;
        Matcher m = VAE_MID.matcher(k);
        if (m.matches()) {
            String b = m.group(1) + ".mid_block.";
            String rest = m.group(3);
            return switch (m.group(2)) {
                case "block_1" -> b + "resnets.0." + vaeResnet(rest);
                case "block_2" -> b + "resnets.1." + vaeResnet(rest);
                default -> b + "attentions.0." + vaeAttention(rest);
            };
        }
        String outer = vaeOuter(k, "norm_out.", "conv_norm_out.");
        if (outer != null) return outer;
        throw unknown(Component.VAE, k);
    }

    /**
     * A VAE encoder (down) or decoder (up) level's parameter in the other naming, or null for other keys.
     * The patterns capture the level (group 1), the resnet index (group 3, null for the level's sampler)
     * and the rest (group 4); the decoder's levels count the other way round. {@code names}: the encoder's
     * and decoder's level prefixes, the resnets' infix, the downsampler's and the upsampler's.
     */
    private static String vaeLevel(String k, int levels, Pattern down, Pattern up, String[] names, java.util.function.UnaryOperator<String> resnet) {
        Matcher m = down.matcher(k);
        boolean isDown = m.matches();
        if (!isDown && !(m = up.matcher(k)).matches()) return null;
        int n = Integer.parseInt(m.group(1));
        String level = isDown ? names[0] + n : names[1] + (levels - 1 - n);
        return m.group(3) != null ? level + names[2] + m.group(3) + "." + resnet.apply(m.group(4)) : level + (isDown ? names[3] : names[4]) + m.group(4);
    }

    /** The encoder's and decoder's outer layers: the final norm renamed {@code from} → {@code to}, the convs as they are; null for other keys. */
    private static String vaeOuter(String k, String from, String to) {
        if (k.startsWith("encoder." + from) || k.startsWith("decoder." + from)) return k.replace("." + from, "." + to);
        return k.matches("(encoder|decoder)\\.conv_(in|out)\\..*|(post_)?quant_conv\\..*") ? k : null;
    }

    private static String vaeResnet(String rest) {
        return rest.startsWith("nin_shortcut.") ? "conv_shortcut." + rest.substring("nin_shortcut.".length()) : rest;
    }

    private static String vaeAttention(String rest) {
        String[][] names = {{"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."}, {"v.", "to_v."}, {"proj_out.", "to_out.0."},
                {"query.", "to_q."}, {"key.", "to_k."}, {"value.", "to_v."}, {"proj_attn.", "to_out.0."}};
        for (String[] n : names) if (rest.startsWith(n[0])) return n[1] + rest.substring(n[0].length());
        throw new IllegalArgumentException("unknown VAE attention parameter '" + rest + "'");
    }

    static String clipLToDiffusers(String k) {
        return k.startsWith("text_model.") ? k.substring("text_model.".length()) : k;
    }

    private static final Pattern RESBLOCK = Pattern.compile("transformer\\.resblocks\\.(\\d+)\\.(.*)");

    static List<Mapped> bigGToDiffusers(String k) {
        String tm = "text_model.";
        switch (k) {
            case "positional_embedding": return List.of(new Mapped(tm + "embeddings.position_embedding.weight", Piece.same(k)));
            case "token_embedding.weight": return List.of(new Mapped(tm + "embeddings.token_embedding.weight", Piece.same(k)));
            case "ln_final.weight": return List.of(new Mapped(tm + "final_layer_norm.weight", Piece.same(k)));
            case "ln_final.bias": return List.of(new Mapped(tm + "final_layer_norm.bias", Piece.same(k)));
            case "text_projection": return List.of(new Mapped("text_projection.weight", new Piece(k, Piece.Kind.TRANSPOSE, 0)));
            default: break;
        }
        Matcher m = RESBLOCK.matcher(k);
        if (!m.matches()) throw unknown(Component.TEXT_ENCODER_2, k);
        String layer = tm + "encoder.layers." + m.group(1) + ".";
        String rest = m.group(2);
        if (rest.equals("attn.in_proj_weight") || rest.equals("attn.in_proj_bias")) {
            String suffix = rest.endsWith("weight") ? "weight" : "bias";
            List<Mapped> out = new ArrayList<>(3);
            String[] qkv = {"q_proj", "k_proj", "v_proj"};
            for (int i = 0; i < 3; i++) {
                out.add(new Mapped(layer + "self_attn." + qkv[i] + "." + suffix, new Piece(k, Piece.Kind.QKV_ROWS, i)));
            }
            return out;
        }
        String[][] names = {{"ln_1.", "layer_norm1."}, {"ln_2.", "layer_norm2."}, {"mlp.c_fc.", "mlp.fc1."},
                {"mlp.c_proj.", "mlp.fc2."}, {"attn.out_proj.", "self_attn.out_proj."}};
        for (String[] n : names) {
            if (rest.startsWith(n[0])) return List.of(new Mapped(layer + n[1] + rest.substring(n[0].length()), Piece.same(k)));
        }
        throw unknown(Component.TEXT_ENCODER_2, k);
    }

    // ---- diffusers → original -------------------------------------------------------------------

    /**
     * The original key a diffusers key is stored under (q/k/v projections share their fused
     * in_proj key). {@code diffusersKeys} is the component's whole key set (the UNet needs it to
     * tell where an up block's upsampler sits).
     */
    public static Piece toOriginal(Component c, String key, Set<String> diffusersKeys, int unetBlockStride, int vaeLevels) {
        return switch (c) {
            case UNET -> Piece.same(unetToOriginal(key, diffusersKeys, unetBlockStride));
            case VAE -> {
                String o = vaeToOriginal(key, vaeLevels);
                boolean squeeze = key.matches(".*mid_block\\.attentions\\.0\\.(to_q|to_k|to_v|to_out\\.0)\\.weight");
                yield squeeze ? new Piece(o, Piece.Kind.SQUEEZE, 0) : Piece.same(o);
            }
            case TEXT_ENCODER -> Piece.same("text_model." + key);
            case TEXT_ENCODER_2 -> bigGToOriginal(key);
        };
    }

    /** {@link #toOriginal(Component, String, Set, int, int)} for a component of {@code layout} (SD 2's text encoder is OpenCLIP's). */
    public static Piece toOriginal(Layout layout, Component c, String key, Set<String> diffusersKeys, int unetBlockStride, int vaeLevels) {
        if (layout == Layout.SD2 && c == Component.TEXT_ENCODER) return bigGToOriginal("text_model." + key);
        return toOriginal(c, key, diffusersKeys, unetBlockStride, vaeLevels);
    }

    private static final Pattern D_DOWN = Pattern.compile("down_blocks\\.(\\d+)\\.(resnets|attentions|downsamplers)\\.(\\d+)\\.(.*)");
    private static final Pattern D_UP = Pattern.compile("up_blocks\\.(\\d+)\\.(resnets|attentions|upsamplers)\\.(\\d+)\\.(.*)");
    private static final Pattern D_MID = Pattern.compile("mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.*)");

    static String unetToOriginal(String k, Set<String> keys, int stride) {
        for (String[] r : UNET_FIXED) if (k.startsWith(r[1])) return r[0] + k.substring(r[1].length());
        Matcher m = D_DOWN.matcher(k);
        if (m.matches()) {
            int b = Integer.parseInt(m.group(1)), l = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            return switch (m.group(2)) {
                case "resnets" -> "input_blocks." + (b * stride + l + 1) + ".0." + resnetToOriginal(rest);
                case "attentions" -> "input_blocks." + (b * stride + l + 1) + ".1." + rest;
                default -> "input_blocks." + (b * stride + stride) + ".0.op." + rest.substring("conv.".length());
            };
        }
        m = D_MID.matcher(k);
        if (m.matches()) {
            String rest = m.group(3);
            if (m.group(1).equals("attentions")) return "middle_block.1." + rest;
            return "middle_block." + (m.group(2).equals("0") ? 0 : 2) + "." + resnetToOriginal(rest);
        }
        m = D_UP.matcher(k);
        if (m.matches()) {
            int b = Integer.parseInt(m.group(1)), l = Integer.parseInt(m.group(3));
            String rest = m.group(4);
            return switch (m.group(2)) {
                case "resnets" -> "output_blocks." + (b * stride + l) + ".0." + resnetToOriginal(rest);
                case "attentions" -> "output_blocks." + (b * stride + l) + ".1." + rest;
                default -> {
                    boolean hasAttention = keys.stream().anyMatch(x -> x.startsWith("up_blocks." + b + ".attentions."));
                    yield "output_blocks." + (b * stride + stride - 1) + "." + (hasAttention ? 2 : 1) + "." + rest;
                }
            };
        }
        throw new IllegalArgumentException("no original name for UNet key '" + k + "'");
    }

    private static final Pattern DV_DOWN = Pattern.compile("encoder\\.down_blocks\\.(\\d+)\\.(resnets\\.(\\d+)|downsamplers\\.0)\\.(.*)");
    private static final Pattern DV_UP = Pattern.compile("decoder\\.up_blocks\\.(\\d+)\\.(resnets\\.(\\d+)|upsamplers\\.0)\\.(.*)");
    private static final Pattern DV_MID = Pattern.compile("(encoder|decoder)\\.mid_block\\.(resnets|attentions)\\.(\\d+)\\.(.*)");

    static String vaeToOriginal(String k, int levels) {
        String level = vaeLevel(k, levels, DV_DOWN, DV_UP, new String[] {"encoder.down.", "decoder.up.", ".block.", ".downsample.", ".upsample."},
                OriginalKeys::vaeResnetToOriginal);
        if (level != null) return level;
        Matcher m = DV_MID.matcher(k);
        if (m.matches()) {
            String b = m.group(1) + ".mid.";
            String rest = m.group(4);
            if (m.group(2).equals("resnets")) return b + "block_" + (Integer.parseInt(m.group(3)) + 1) + "." + vaeResnetToOriginal(rest);
            String[][] names = {{"group_norm.", "norm."}, {"to_q.", "q."}, {"to_k.", "k."}, {"to_v.", "v."}, {"to_out.0.", "proj_out."}};
            for (String[] n : names) if (rest.startsWith(n[0])) return b + "attn_1." + n[1] + rest.substring(n[0].length());
        }
        String outer = vaeOuter(k, "conv_norm_out.", "norm_out.");
        if (outer != null) return outer;
        throw new IllegalArgumentException("no original name for VAE key '" + k + "'");
    }

    private static String resnetToOriginal(String rest) {
        for (String[] r : RESNET) if (rest.startsWith(r[1])) return r[0] + rest.substring(r[1].length());
        throw new IllegalArgumentException("unknown ResnetBlock2D parameter '" + rest + "'");
    }

    private static String vaeResnetToOriginal(String rest) {
        return rest.startsWith("conv_shortcut.") ? "nin_shortcut." + rest.substring("conv_shortcut.".length()) : rest;
    }

    private static final Pattern D_LAYER = Pattern.compile("text_model\\.encoder\\.layers\\.(\\d+)\\.(.*)");

    static Piece bigGToOriginal(String k) {
        switch (k) {
            case "text_model.embeddings.position_embedding.weight": return Piece.same("positional_embedding");
            case "text_model.embeddings.token_embedding.weight": return Piece.same("token_embedding.weight");
            case "text_model.final_layer_norm.weight": return Piece.same("ln_final.weight");
            case "text_model.final_layer_norm.bias": return Piece.same("ln_final.bias");
            case "text_projection.weight": return new Piece("text_projection", Piece.Kind.TRANSPOSE, 0);
            default: break;
        }
        Matcher m = D_LAYER.matcher(k);
        if (!m.matches()) throw new IllegalArgumentException("no original name for OpenCLIP key '" + k + "'");
        String block = "transformer.resblocks." + m.group(1) + ".";
        String rest = m.group(2);
        Matcher qkv = Pattern.compile("self_attn\\.(q|k|v)_proj\\.(weight|bias)").matcher(rest);
        if (qkv.matches()) {
            int part = "qkv".indexOf(qkv.group(1));
            return new Piece(block + "attn.in_proj_" + qkv.group(2), Piece.Kind.QKV_ROWS, part);
        }
        String[][] names = {{"layer_norm1.", "ln_1."}, {"layer_norm2.", "ln_2."}, {"mlp.fc1.", "mlp.c_fc."},
                {"mlp.fc2.", "mlp.c_proj."}, {"self_attn.out_proj.", "attn.out_proj."}};
        for (String[] n : names) if (rest.startsWith(n[0])) return Piece.same(block + n[1] + rest.substring(n[0].length()));
        throw new IllegalArgumentException("no original name for OpenCLIP key '" + k + "'");
    }

    private static IllegalArgumentException unknown(Component c, String k) {
        return new IllegalArgumentException("unknown " + c.folder() + " key '" + k + "' in the single-file checkpoint");
    }
}
