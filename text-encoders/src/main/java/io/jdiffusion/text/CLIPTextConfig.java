package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * transformers' CLIPTextConfig, the fields the text tower needs (spec §2.1). Read from a
 * {@code text_encoder*}/config.json; a full CLIPConfig with a {@code text_config} section is read
 * from that section. Fields a file omits take transformers' CLIPTextConfig defaults.
 *
 * @param hiddenAct {@code quick_gelu} (CLIP-L) or {@code gelu} (OpenCLIP bigG, exact erf form)
 * @param projectionDim output width of {@code text_projection} (CLIPTextModelWithProjection only)
 * @param eosTokenId picks the pooled position: first id equal to it, or argmax of the ids for legacy configs with 2
 */
public record CLIPTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
                             int numAttentionHeads, int maxPositionEmbeddings, String hiddenAct,
                             double layerNormEps, int projectionDim, int bosTokenId, int eosTokenId, int padTokenId) {
    public static final List<String> SUPPORTED_ACTIVATIONS = List.of("quick_gelu", "gelu");

    public CLIPTextConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("projection_dim", projectionDim);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (!SUPPORTED_ACTIVATIONS.contains(hiddenAct)) {
            throw new IllegalArgumentException("hidden_act '" + hiddenAct + "' is not supported; allowed: " + SUPPORTED_ACTIVATIONS);
        }
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("layer_norm_eps must be > 0, got " + layerNormEps);
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException(name + " must be > 0, got " + v);
    }

    public int headDim() { return hiddenSize / numAttentionHeads; }

    /** Parses a config.json. */
    public static CLIPTextConfig read(Path configJson) {
        if (!Files.isRegularFile(configJson)) throw new IllegalArgumentException("text encoder config " + configJson + " does not exist");
        try {
            JsonNode root = new ObjectMapper().readTree(configJson.toFile());
            try {
                return fromJson(root.has("text_config") ? root.get("text_config") : root);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(configJson + ": " + e.getMessage(), e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + configJson, e);
        }
    }

    /** From the JSON object of a CLIPTextConfig; missing fields take transformers' defaults. */
    public static CLIPTextConfig fromJson(JsonNode j) {
        return new CLIPTextConfig(
                integer(j, "vocab_size", 49408),
                integer(j, "hidden_size", 512),
                integer(j, "intermediate_size", 2048),
                integer(j, "num_hidden_layers", 12),
                integer(j, "num_attention_heads", 8),
                integer(j, "max_position_embeddings", 77),
                j.path("hidden_act").asText("quick_gelu"),
                j.has("layer_norm_eps") ? j.get("layer_norm_eps").asDouble() : 1e-5,
                integer(j, "projection_dim", 512),
                integer(j, "bos_token_id", 49406),
                integer(j, "eos_token_id", 49407),
                integer(j, "pad_token_id", 1));
    }

    private static int integer(JsonNode j, String field, int dflt) {
        JsonNode v = j.get(field);
        if (v == null || v.isNull()) return dflt;
        if (!v.canConvertToInt() || !v.isIntegralNumber()) throw new IllegalArgumentException(field + " must be an integer, got " + v);
        return v.asInt();
    }
}
