package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.nn.LayerNorm;
import io.jdiffusion.tensor.weights.Params;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' CLIPTextTransformer: embeddings → causal encoder layers → final_layer_norm, and
 * the pooled vector at the EOS position (spec §2.2). Shared by {@link CLIPTextModel} (where it
 * sits at the root of the state dict) and {@link CLIPTextModelWithProjection} (under "text_model.").
 */
final class CLIPTextTransformer {
    private final CLIPTextConfig config;
    private final CLIPTextEmbeddings embeddings;
    private final List<CLIPEncoderLayer> layers = new ArrayList<>();
    private final Backend be;
    private final LayerNorm finalLayerNorm;

    CLIPTextTransformer(CLIPTextConfig c, Params p) {
        config = c;
        embeddings = new CLIPTextEmbeddings(c, p.child("embeddings"));
        Params enc = p.child("encoder").child("layers");
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new CLIPEncoderLayer(c, enc.child(i)));
        finalLayerNorm = new LayerNorm(p.child("final_layer_norm"), c.hiddenSize(), (float) c.layerNormEps());
        be = p.backend();
    }

    /** final_layer_norm alone, on a hidden state [B, S, D] (SD's clip_skip normalizes an earlier layer's output). */
    Tensor finalLayerNorm(Tensor hidden) { return finalLayerNorm.forward(hidden); }

    /** Runs the tower; tensors are made in the caller's scope. */
    CLIPTextOutput forward(int[][] inputIds, boolean outputHiddenStates) {
        int b = inputIds.length;
        if (b == 0) throw new IllegalArgumentException("inputIds: empty batch");
        int s = inputIds[0].length;
        if (s == 0) throw new IllegalArgumentException("inputIds: empty sequence");
        if (s > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException("inputIds: sequence length " + s + " exceeds max_position_embeddings "
                    + config.maxPositionEmbeddings());
        }
        int[] flat = new int[b * s];
        for (int i = 0; i < b; i++) {
            if (inputIds[i].length != s) {
                throw new IllegalArgumentException("inputIds: row " + i + " has length " + inputIds[i].length + ", row 0 has " + s
                        + " (pad the batch to one length)");
            }
            for (int j = 0; j < s; j++) {
                int id = inputIds[i][j];
                if (id < 0 || id >= config.vocabSize()) {
                    throw new IllegalArgumentException("inputIds[" + i + "][" + j + "] = " + id + " is outside the vocabulary [0, "
                            + config.vocabSize() + ")");
                }
                flat[i * s + j] = id;
            }
        }
        Tensor x = embeddings.forward(flat, b, s);
        List<Tensor> hidden = outputHiddenStates ? new ArrayList<>(layers.size() + 1) : null;
        if (hidden != null) hidden.add(x);
        for (CLIPEncoderLayer layer : layers) {
            x = layer.forward(x);
            if (hidden != null) hidden.add(x);
        }
        Tensor last = finalLayerNorm.forward(x);
        // Gather one row per sequence: [B*S, D] used as an embedding table indexed by b*S + eosPos.
        int[] rows = new int[b];
        for (int i = 0; i < b; i++) rows[i] = i * s + poolIndex(inputIds[i], config.eosTokenId());
        Tensor pooled = be.embedding(last.reshape(b * s, config.hiddenSize()), rows);
        return new CLIPTextOutput(last, pooled, hidden, null);
    }

    /**
     * transformers' choice of the pooled position: legacy configs with eos_token_id == 2 take the
     * argmax of the ids (the first maximum, which is EOS = 49407 for CLIP's vocabulary); others take
     * the first position holding eos_token_id (argmax of a boolean row: 0 when there is none).
     */
    static int poolIndex(int[] ids, int eosTokenId) {
        int best = 0;
        if (eosTokenId == 2) {
            for (int j = 1; j < ids.length; j++) if (ids[j] > ids[best]) best = j;
            return best;
        }
        for (int j = 0; j < ids.length; j++) if (ids[j] == eosTokenId) return j;
        return 0;
    }

    CLIPTextConfig config() { return config; }
}
