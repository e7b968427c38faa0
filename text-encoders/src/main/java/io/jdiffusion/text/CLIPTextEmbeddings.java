package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;

/** {@code embeddings}: token embedding plus learned absolute position embedding (spec §2.2 step 1). */
final class CLIPTextEmbeddings {
    private final Tensor tokenEmbedding;
    private final Tensor positionEmbedding;
    private final Backend be;

    CLIPTextEmbeddings(CLIPTextConfig c, Params p) {
        be = p.backend();
        tokenEmbedding = p.child("token_embedding").get("weight", c.vocabSize(), c.hiddenSize());
        positionEmbedding = p.child("position_embedding").get("weight", c.maxPositionEmbeddings(), c.hiddenSize());
    }

    /** ids [batch * seq] flattened row-major → [batch, seq, hidden]; positions 0..seq-1. */
    Tensor forward(int[] flatIds, int batch, int seq) {
        Tensor tok = be.embedding(tokenEmbedding, flatIds).reshape(batch, seq, -1);
        int[] positions = new int[seq];
        for (int i = 0; i < seq; i++) positions[i] = i;
        Tensor pos = be.embedding(positionEmbedding, positions);
        return be.add(tok, pos);
    }
}
