package io.jdiffusion.text;

import io.jdiffusion.tensor.testing.DoubleReference;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An independent, deliberately plain re-implementation of the CLIP text tower for the tests:
 * double-precision loops straight from spec §2.2, no Backend, no Params. It reads the weights of
 * a text_encoder folder with either key form.
 */
final class NaiveClip {
    final CLIPTextConfig c;
    private final SafetensorsFile f;
    private final String prefix;

    NaiveClip(Path folder) {
        c = CLIPTextConfig.read(folder.resolve("config.json"));
        f = SafetensorsFile.open(folder.resolve("model.safetensors"));
        prefix = f.contains("text_model.final_layer_norm.weight") ? "text_model." : "";
    }

    private final java.util.Map<String, float[]> cache = new java.util.HashMap<>();

    private float[] w(String name) {
        return cache.computeIfAbsent(name, n -> f.floats(n.startsWith("text_projection") ? n : prefix + n));
    }

    boolean hasProjection() { return f.contains("text_projection.weight"); }

    /** Per sequence: hidden_states (L+1 of [S][D]), last_hidden_state, pooled, text_embeds (or null). */
    record Out(List<double[][]> hidden, double[][] last, double[] pooled, double[] textEmbeds) {}

    Out forward(int[] ids) {
        int s = ids.length, d = c.hiddenSize(), h = c.numAttentionHeads(), hd = d / h, inter = c.intermediateSize();
        float[] tok = w("embeddings.token_embedding.weight"), pos = w("embeddings.position_embedding.weight");
        double[][] x = new double[s][d];
        for (int i = 0; i < s; i++) for (int j = 0; j < d; j++) x[i][j] = tok[ids[i] * d + j] + (double) pos[i * d + j];
        List<double[][]> hidden = new ArrayList<>();
        hidden.add(copy(x));
        for (int l = 0; l < c.numHiddenLayers(); l++) {
            String p = "encoder.layers." + l + ".";
            double[][] a = layerNorm(x, w(p + "layer_norm1.weight"), w(p + "layer_norm1.bias"));
            double[][] q = linear(a, w(p + "self_attn.q_proj.weight"), w(p + "self_attn.q_proj.bias"), d);
            double[][] k = linear(a, w(p + "self_attn.k_proj.weight"), w(p + "self_attn.k_proj.bias"), d);
            double[][] v = linear(a, w(p + "self_attn.v_proj.weight"), w(p + "self_attn.v_proj.bias"), d);
            double[][] att = new double[s][d];
            for (int head = 0; head < h; head++) {
                for (int i = 0; i < s; i++) {
                    double[] score = new double[i + 1]; // causal: keys 0..i
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int t = 0; t < hd; t++) dot += q[i][head * hd + t] * k[j][head * hd + t];
                        score[j] = dot / Math.sqrt(hd);
                        max = Math.max(max, score[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j <= i; j++) sum += (score[j] = Math.exp(score[j] - max));
                    for (int j = 0; j <= i; j++) for (int t = 0; t < hd; t++) att[i][head * hd + t] += score[j] / sum * v[j][head * hd + t];
                }
            }
            double[][] o = linear(att, w(p + "self_attn.out_proj.weight"), w(p + "self_attn.out_proj.bias"), d);
            for (int i = 0; i < s; i++) for (int j = 0; j < d; j++) x[i][j] += o[i][j];
            double[][] m = layerNorm(x, w(p + "layer_norm2.weight"), w(p + "layer_norm2.bias"));
            double[][] f1 = linear(m, w(p + "mlp.fc1.weight"), w(p + "mlp.fc1.bias"), inter);
            for (double[] row : f1) {
                for (int j = 0; j < inter; j++) {
                    double z = row[j];
                    row[j] = c.hiddenAct().equals("quick_gelu") ? z / (1 + Math.exp(-1.702 * z)) : 0.5 * z * (1 + erf(z / Math.sqrt(2)));
                }
            }
            double[][] f2 = linear(f1, w(p + "mlp.fc2.weight"), w(p + "mlp.fc2.bias"), d);
            for (int i = 0; i < s; i++) for (int j = 0; j < d; j++) x[i][j] += f2[i][j];
            hidden.add(copy(x));
        }
        double[][] last = layerNorm(x, w("final_layer_norm.weight"), w("final_layer_norm.bias"));
        int eos = 0;
        while (eos < s && ids[eos] != c.eosTokenId()) eos++;
        if (eos == s) eos = 0;
        double[] pooled = last[eos];
        double[] embeds = null;
        if (hasProjection()) embeds = linear(new double[][] {pooled}, w("text_projection.weight"), null, c.projectionDim())[0];
        return new Out(hidden, last, pooled, embeds);
    }

    private static double[][] copy(double[][] x) {
        double[][] y = new double[x.length][];
        for (int i = 0; i < x.length; i++) y[i] = x[i].clone();
        return y;
    }

    private double[][] layerNorm(double[][] x, float[] g, float[] b) {
        double[][] y = new double[x.length][x[0].length];
        int d = x[0].length;
        for (int i = 0; i < x.length; i++) {
            double mean = 0, var = 0;
            for (double v : x[i]) mean += v;
            mean /= d;
            for (double v : x[i]) var += (v - mean) * (v - mean);
            var /= d;
            for (int j = 0; j < d; j++) y[i][j] = (x[i][j] - mean) / Math.sqrt(var + c.layerNormEps()) * g[j] + b[j];
        }
        return y;
    }

    private static double[][] linear(double[][] x, float[] w, float[] b, int out) { return DoubleReference.linear(x, w, b, out); }

    /** erf by its Maclaurin series (|z| small) or the continued-fraction tail; accurate to ~1e-13 for our inputs. */
    static double erf(double z) {
        double a = Math.abs(z);
        double r;
        if (a < 3) {
            double sum = 0, term = a;
            for (int n = 0; n < 200; n++) {
                sum += term / (2 * n + 1);
                term *= -a * a / (n + 1);
                if (Math.abs(term) < 1e-18) break;
            }
            r = 2 / Math.sqrt(Math.PI) * sum;
        } else {
            // erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + 1/2/(a + 1/(a + 3/2/(a + ...)))) (Lentz-free fixed depth)
            double cf = a;
            for (int k = 60; k >= 1; k--) cf = a + (k / 2.0) / cf;
            r = 1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / cf;
        }
        return z < 0 ? -r : r;
    }

    /** Rows of [B][S][D] flattened for comparisons. */
    static float[] flat(List<double[][]> perSeq) {
        int s = perSeq.get(0).length, d = perSeq.get(0)[0].length;
        float[] out = new float[perSeq.size() * s * d];
        int at = 0;
        for (double[][] m : perSeq) for (double[] row : m) for (double v : row) out[at++] = (float) v;
        return out;
    }
}
