package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.WeightSource;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The VAE of an original Stability single-file checkpoint ({@code first_stage_model.*}, LDM names)
 * seen under diffusers' names, as diffusers' single-file loader converts it (spec §4.4):
 * {@code down.i.block.j} → {@code down_blocks.i.resnets.j}, {@code up.i} → {@code up_blocks.(L−1−i)}
 * (the decoder's level order is reversed), {@code mid.block_1/2} → {@code mid_block.resnets.0/1},
 * {@code mid.attn_1.{norm,q,k,v,proj_out}} → {@code mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0}},
 * {@code norm_out} → {@code conv_norm_out}, {@code nin_shortcut} → {@code conv_shortcut}. The attention
 * projections are stored as 1x1 convs [C, C, 1, 1]; they are served as Linear weights [C, C]
 * (a free reshape). Keys outside {@code first_stage_model.} (UNet, text encoders) are not visible.
 */
public final class LdmVaeWeights implements WeightSource {
    public static final String PREFIX = "first_stage_model.";

    private static final Pattern DOWN_BLOCK = Pattern.compile("^encoder\\.down\\.(\\d+)\\.block\\.(\\d+)\\.(.*)$");
    private static final Pattern DOWN_SAMPLE = Pattern.compile("^encoder\\.down\\.(\\d+)\\.downsample\\.conv\\.(.*)$");
    private static final Pattern UP_BLOCK = Pattern.compile("^decoder\\.up\\.(\\d+)\\.block\\.(\\d+)\\.(.*)$");
    private static final Pattern UP_SAMPLE = Pattern.compile("^decoder\\.up\\.(\\d+)\\.upsample\\.conv\\.(.*)$");
    private static final Pattern MID_BLOCK = Pattern.compile("^(encoder|decoder)\\.mid\\.block_([12])\\.(.*)$");
    private static final Pattern MID_ATTN = Pattern.compile("^(encoder|decoder)\\.mid\\.attn_1\\.(norm|q|k|v|proj_out)\\.(.*)$");
    private static final Pattern NORM_OUT = Pattern.compile("^(encoder|decoder)\\.norm_out\\.(.*)$");

    private final WeightSource source;
    /** diffusers name → stored name. */
    private final Map<String, String> stored = new LinkedHashMap<>();
    private final Set<String> squeezed;

    /**
     * @param source  the checkpoint (e.g. {@code SafetensorsWeights.open(sd_xl_base_1.0.safetensors)}); not closed by
     *                this view unless {@link #close()} is called
     * @param levels  number of VAE resolution levels (block_out_channels entries) — needed to reverse the decoder's order
     */
    public LdmVaeWeights(WeightSource source, int levels) {
        if (levels <= 0) throw new IllegalArgumentException("levels must be positive, got " + levels);
        this.source = source;
        java.util.HashSet<String> sq = new java.util.HashSet<>();
        for (String k : source.keys()) {
            if (!k.startsWith(PREFIX)) continue;
            String name = toDiffusers(k.substring(PREFIX.length()), levels);
            if (stored.put(name, k) != null) throw new IllegalArgumentException("two checkpoint keys map to '" + name + "'");
            if (name.contains(".attentions.0.to_") && name.endsWith(".weight") && source.shape(k).length == 4) sq.add(name);
        }
        squeezed = Collections.unmodifiableSet(sq);
    }

    /** The diffusers name of an LDM VAE key (without {@code first_stage_model.}); unknown keys pass through unchanged. */
    public static String toDiffusers(String ldm, int levels) {
        Matcher m;
        if ((m = DOWN_BLOCK.matcher(ldm)).matches()) {
            return "encoder.down_blocks." + m.group(1) + ".resnets." + m.group(2) + "." + resnetParam(m.group(3));
        }
        if ((m = DOWN_SAMPLE.matcher(ldm)).matches()) return "encoder.down_blocks." + m.group(1) + ".downsamplers.0.conv." + m.group(2);
        if ((m = UP_BLOCK.matcher(ldm)).matches()) {
            return "decoder.up_blocks." + reversed(m.group(1), levels) + ".resnets." + m.group(2) + "." + resnetParam(m.group(3));
        }
        if ((m = UP_SAMPLE.matcher(ldm)).matches()) {
            return "decoder.up_blocks." + reversed(m.group(1), levels) + ".upsamplers.0.conv." + m.group(2);
        }
        if ((m = MID_BLOCK.matcher(ldm)).matches()) {
            return m.group(1) + ".mid_block.resnets." + (Integer.parseInt(m.group(2)) - 1) + "." + resnetParam(m.group(3));
        }
        if ((m = MID_ATTN.matcher(ldm)).matches()) {
            String to = switch (m.group(2)) {
                case "norm" -> "group_norm";
                case "q" -> "to_q";
                case "k" -> "to_k";
                case "v" -> "to_v";
                default -> "to_out.0";
            };
            return m.group(1) + ".mid_block.attentions.0." + to + "." + m.group(3);
        }
        if ((m = NORM_OUT.matcher(ldm)).matches()) return m.group(1) + ".conv_norm_out." + m.group(2);
        return ldm;   // conv_in, conv_out, quant_conv, post_quant_conv keep their names
    }

    private static String resnetParam(String p) {
        return p.startsWith("nin_shortcut.") ? "conv_shortcut." + p.substring("nin_shortcut.".length()) : p;
    }

    private static int reversed(String index, int levels) {
        int i = Integer.parseInt(index);
        if (i >= levels) throw new IllegalArgumentException("decoder.up." + i + " in a checkpoint for a " + levels + "-level VAE");
        return levels - 1 - i;
    }

    @Override public Set<String> keys() { return Collections.unmodifiableSet(stored.keySet()); }

    @Override
    public int[] shape(String key) {
        int[] s = source.shape(storedName(key));
        return squeezed.contains(key) ? new int[] {s[0], s[1]} : s;
    }

    @Override
    public Tensor tensor(String key) {
        Tensor t = source.tensor(storedName(key));
        return squeezed.contains(key) ? t.reshape(t.dim(0), t.dim(1)) : t;
    }

    @Override
    public String origin(String key) {
        String s = stored.get(key);
        return s == null ? source.origin(key) : source.origin(s) + " (as " + s + ")";
    }

    private String storedName(String key) {
        String s = stored.get(key);
        if (s == null) throw new IllegalArgumentException("no VAE weight '" + key + "' under " + PREFIX);
        return s;
    }

    @Override
    public void close() { source.close(); }
}
