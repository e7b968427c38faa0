package io.jdiffusion.tensor.nn;

import io.jdiffusion.tensor.testing.DoubleReference;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.RandomWeights;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The blocks UNet, VAE and text encoders share: the weight keys each form asks for (diffusers' and
 * transformers' names, in their registration order), the attention forms against a naive
 * double-precision multi-head attention written here, and the nearest resize against torch's rule.
 */
class SharedBlocksTest {
    private static List<String> keys(Consumer<Params> build) {
        return List.copyOf(RandomWeights.shapesOf("m", build).keySet());
    }

    @Test
    void eachFormAsksForItsModelsKeysInRegistrationOrder() {
        assertEquals(List.of("a.to_q.weight", "a.to_k.weight", "a.to_v.weight", "a.to_out.0.weight", "a.to_out.0.bias"),
                keys(p -> Attention.of(p.child("a"), 8, 6, 2, 4, false)));
        assertEquals(List.of("a.group_norm.weight", "a.group_norm.bias", "a.to_q.weight", "a.to_q.bias", "a.to_k.weight", "a.to_k.bias",
                        "a.to_v.weight", "a.to_v.bias", "a.to_out.0.weight", "a.to_out.0.bias"),
                keys(p -> Attention.vaeMidBlock(p.child("a"), 8, 8, 2, 1e-6f)));
        assertEquals(List.of("a.k_proj.weight", "a.k_proj.bias", "a.v_proj.weight", "a.v_proj.bias", "a.q_proj.weight", "a.q_proj.bias",
                        "a.out_proj.weight", "a.out_proj.bias"),
                keys(p -> Attention.clip(p.child("a"), 8, 2)));
        assertEquals(List.of("r.norm1.weight", "r.norm1.bias", "r.conv1.weight", "r.conv1.bias", "r.time_emb_proj.weight",
                        "r.time_emb_proj.bias", "r.norm2.weight", "r.norm2.bias", "r.conv2.weight", "r.conv2.bias",
                        "r.conv_shortcut.weight", "r.conv_shortcut.bias"),
                keys(p -> new ResnetBlock2D(p.child("r"), 4, 8, 16, 2, 1e-5f, 1f)));
        assertEquals(List.of("r.norm1.weight", "r.norm1.bias", "r.conv1.weight", "r.conv1.bias", "r.norm2.weight", "r.norm2.bias",
                        "r.conv2.weight", "r.conv2.bias"),
                keys(p -> new ResnetBlock2D(p.child("r"), 8, 8, 0, 2, 1e-6f, 1f)));
        assertEquals(List.of("d.conv.weight", "d.conv.bias"), keys(p -> new Downsample2D(p.child("d"), 4, 0)));
        assertEquals(List.of("u.conv.weight", "u.conv.bias"), keys(p -> new Upsample2D(p.child("u"), 4)));
    }

    /** Builds {@code build} on random weights on the CPU; returns the block and the weights by key. */
    private static <T> T onRandomWeights(java.util.function.Function<Params, T> build, Map<String, float[]> weights) {
        Map<String, int[]> shapes = RandomWeights.shapesOf("m", build::apply);
        RandomWeights source = RandomWeights.lazy(shapes, 5, DType.F16);
        for (String k : shapes.keySet()) weights.put(k, source.tensor(k).toFloatArray());
        Params p = Params.load("m", source, CpuBackend.INSTANCE, null);
        T block = build.apply(p);
        p.finish();
        return block;
    }

    private static float[] gauss(Random r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian();
        return f;
    }

    private static double[][] linear(double[][] x, float[] w, float[] b, int out) { return DoubleReference.linear(x, w, b, out); }

    /** One batch row of multi-head attention from its definition, in double. */
    private static double[][] naiveAttention(double[][] x, double[][] ctx, Map<String, float[]> w, String q, String k, String v,
                                             String out, int heads, boolean causal) {
        int inner = w.get(q + ".weight").length / x[0].length, d = inner / heads, dim = w.get(out + ".weight").length / inner;
        double[][] qs = linear(x, w.get(q + ".weight"), w.get(q + ".bias"), inner);
        double[][] ks = linear(ctx, w.get(k + ".weight"), w.get(k + ".bias"), inner);
        double[][] vs = linear(ctx, w.get(v + ".weight"), w.get(v + ".bias"), inner);
        double[][] merged = new double[x.length][inner];
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < x.length; i++) {
                int len = causal ? i + 1 : ctx.length;
                double[] p = new double[len];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int j = 0; j < len; j++) {
                    for (int c = 0; c < d; c++) p[j] += qs[i][h * d + c] * ks[j][h * d + c];
                    p[j] /= Math.sqrt(d);
                    max = Math.max(max, p[j]);
                }
                for (int j = 0; j < len; j++) sum += p[j] = Math.exp(p[j] - max);
                for (int j = 0; j < len; j++) for (int c = 0; c < d; c++) merged[i][h * d + c] += p[j] / sum * vs[j][h * d + c];
            }
        }
        return linear(merged, w.get(out + ".weight"), w.get(out + ".bias"), dim);
    }

    private static double[][] rows(float[] flat, int offset, int n, int width) {
        double[][] r = new double[n][width];
        for (int i = 0; i < n; i++) for (int j = 0; j < width; j++) r[i][j] = flat[offset + i * width + j];
        return r;
    }

    private static void assertRows(String what, double[][] expected, float[] actual, int offset, double atol) {
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                float a = actual[offset + i * expected[i].length + j];
                assertEquals(expected[i][j], a, atol, what + " at [" + i + ", " + j + "]");
            }
        }
    }

    @Test
    void crossAttentionWithTwoHeadsMatchesDefinition() {
        Map<String, float[]> w = new java.util.HashMap<>();
        Attention a = onRandomWeights(p -> Attention.of(p.child("attn2"), 8, 6, 2, 4, false), w);
        Random r = new Random(1);
        int b = 2, s = 5, sk = 3;
        float[] x = gauss(r, b * s * 8), ctx = gauss(r, b * sk * 6);
        float[] y = a.forward(Tensor.of(x, b, s, 8), Tensor.of(ctx, b, sk, 6)).toFloatArray();
        for (int i = 0; i < b; i++) {
            double[][] e = naiveAttention(rows(x, i * s * 8, s, 8), rows(ctx, i * sk * 6, sk, 6), w,
                    "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0", 2, false);
            assertRows("cross-attention row " + i, e, y, i * s * 8, 1e-5);
        }
    }

    @Test
    void clipAttentionIsCausal() {
        Map<String, float[]> w = new java.util.HashMap<>();
        Attention a = onRandomWeights(p -> Attention.clip(p.child("self_attn"), 8, 2), w);
        Random r = new Random(2);
        int s = 6;
        float[] x = gauss(r, s * 8);
        float[] y = a.forward(Tensor.of(x, 1, s, 8)).toFloatArray();
        double[][] xr = rows(x, 0, s, 8);
        assertRows("causal self-attention", naiveAttention(xr, xr, w, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                "self_attn.out_proj", 2, true), y, 0, 1e-5);
    }

    /** The VAE form: group_norm, attention over the pixels (token = row·W + col), the input added back. */
    @Test
    void vaeMidBlockAttentionOverPixelsWithResidual() {
        Map<String, float[]> w = new java.util.HashMap<>();
        int c = 4, h = 2, wd = 3, s = h * wd, groups = 2;
        Attention a = onRandomWeights(p -> Attention.vaeMidBlock(p.child("a"), c, 2, groups, 1e-6f), w);
        Random r = new Random(3);
        float[] x = gauss(r, c * s);
        float[] y = a.forward(Tensor.of(x, 1, c, h, wd)).toFloatArray();
        double[][] tokens = new double[s][c];
        int cpg = c / groups;
        for (int g = 0; g < groups; g++) {
            double mean = 0, var = 0;
            for (int i = g * cpg * s; i < (g + 1) * cpg * s; i++) mean += x[i] / (double) (cpg * s);
            for (int i = g * cpg * s; i < (g + 1) * cpg * s; i++) var += (x[i] - mean) * (x[i] - mean) / (cpg * s);
            for (int ch = g * cpg; ch < (g + 1) * cpg; ch++) {
                for (int t = 0; t < s; t++) {
                    tokens[t][ch] = (x[ch * s + t] - mean) / Math.sqrt(var + 1e-6) * w.get("a.group_norm.weight")[ch]
                            + w.get("a.group_norm.bias")[ch];
                }
            }
        }
        double[][] o = naiveAttention(tokens, tokens, w, "a.to_q", "a.to_k", "a.to_v", "a.to_out.0", 2, false);
        for (int ch = 0; ch < c; ch++) {
            for (int t = 0; t < s; t++) assertEquals(o[t][ch] + x[ch * s + t], y[ch * s + t], 1e-5, "channel " + ch + " pixel " + t);
        }
    }

    @Test
    void resnetRefusesAMissingOrUnexpectedTimeEmbedding() {
        ResnetBlock2D unet = onRandomWeights(p -> new ResnetBlock2D(p.child("up_blocks.0.resnets.1"), 4, 4, 8, 2, 1e-5f, 1f), new java.util.HashMap<>());
        ResnetBlock2D vae = onRandomWeights(p -> new ResnetBlock2D(p.child("resnets.0"), 4, 4, 0, 2, 1e-6f, 1f), new java.util.HashMap<>());
        Tensor x = Tensor.zeros(1, 4, 2, 2), temb = Tensor.zeros(1, 8);
        assertEquals("up_blocks.0.resnets.1.time_emb_proj: this block needs a time embedding (temb), got none",
                assertThrows(IllegalArgumentException.class, () -> unet.forward(x)).getMessage());
        assertEquals("resnets.0.time_emb_proj: this block has none (temb_channels = None) but was given a time embedding",
                assertThrows(IllegalArgumentException.class, () -> vae.forward(x, temb)).getMessage());
        assertArrayEquals(new int[] {1, 4, 2, 2}, unet.forward(x, temb).shape());
    }

    /** Padding 0 pads right and bottom only (the VAE's), so a 5-wide input gives floor((5 + 1 − 3) / 2) + 1 = 2. */
    @Test
    void downsampleOutputSides() {
        Downsample2D vae = onRandomWeights(p -> new Downsample2D(p.child("d"), 2, 0), new java.util.HashMap<>());
        Downsample2D unet = onRandomWeights(p -> new Downsample2D(p.child("d"), 2, 1), new java.util.HashMap<>());
        assertArrayEquals(new int[] {1, 2, 2, 3}, vae.forward(Tensor.zeros(1, 2, 5, 6)).shape());
        assertArrayEquals(new int[] {1, 2, 3, 3}, unet.forward(Tensor.zeros(1, 2, 5, 6)).shape());
    }

    @Test
    void nearestSourceIndexIsTorchLegacyNearest() {
        assertArrayEquals(new int[] {0, 0, 1, 1, 2}, Upsample2D.sourceIndex(3, 5));       // scale 0.6
        assertArrayEquals(new int[] {0, 0, 1, 1, 2, 2, 3}, Upsample2D.sourceIndex(4, 7)); // scale 4/7
        assertArrayEquals(new int[] {0, 0, 1, 1}, Upsample2D.sourceIndex(2, 4));
    }

    @Test
    void nearestResizeMatchesNaiveLoop() {
        Random r = new Random(3);
        int n = 2, c = 3, h = 3, w = 4, ho = 5, wo = 7;
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        Tensor y = Upsample2D.nearest(CpuBackend.INSTANCE, Tensor.of(x, n, c, h, w), ho, wo);
        assertArrayEquals(new int[] {n, c, ho, wo}, y.shape());
        float[] yd = y.toFloatArray();
        for (int b = 0; b < n * c; b++) {
            for (int i = 0; i < ho; i++) {
                for (int j = 0; j < wo; j++) {
                    int si = (int) Math.floor(i * ((float) h / ho)), sj = (int) Math.floor(j * ((float) w / wo));
                    assertEquals(x[(b * h + si) * w + sj], yd[(b * ho + i) * wo + j], "at " + b + "," + i + "," + j);
                }
            }
        }
        // exact doubling agrees with the dedicated 2x op
        Tensor x2 = Tensor.of(x, n, c, h, w);
        assertArrayEquals(CpuBackend.INSTANCE.upsampleNearest2x(x2).toFloatArray(),
                Upsample2D.nearest(CpuBackend.INSTANCE, x2, 2 * h, 2 * w).toFloatArray());
    }

}
