package io.jdiffusion.text;

import io.jdiffusion.tensor.Tensor;

import java.util.List;

/**
 * What a CLIP text model returns (transformers' BaseModelOutputWithPooling / CLIPTextModelOutput).
 *
 * @param lastHiddenState [B, S, D], after final_layer_norm
 * @param pooledOutput    [B, D], the row of lastHiddenState at each sequence's EOS position
 * @param hiddenStates    num_hidden_layers + 1 tensors [B, S, D] (embeddings, then each layer's output;
 *                        the last one is before final_layer_norm), or null when not requested
 * @param textEmbeds      [B, projection_dim], pooledOutput through text_projection
 *                        (CLIPTextModelWithProjection), null for CLIPTextModel
 */
public record CLIPTextOutput(Tensor lastHiddenState, Tensor pooledOutput, List<Tensor> hiddenStates, Tensor textEmbeds) {
    public CLIPTextOutput {
        hiddenStates = hiddenStates == null ? null : List.copyOf(hiddenStates);
    }

    /** hidden_states[index] with Python's negative indexing: -1 is the last layer, -2 the penultimate. */
    public Tensor hiddenState(int index) {
        if (hiddenStates == null) throw new IllegalStateException("hidden states were not requested (outputHiddenStates = false)");
        int n = hiddenStates.size();
        int i = index < 0 ? n + index : index;
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException("hidden state index " + index + " outside [-" + n + ", " + n + ")");
        return hiddenStates.get(i);
    }
}
