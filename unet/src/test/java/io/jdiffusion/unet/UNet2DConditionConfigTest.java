package io.jdiffusion.unet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.Params;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Config parsing as diffusers' UNet2DConditionModel.__init__ interprets the fields. */
class UNet2DConditionConfigTest {
    static JsonNode json(String model) { return Fixtures.readJson(Fixtures.path(model + "/unet/config.json")); }

    static int[] perLevel(JsonNode v, int levels) {
        int[] out = new int[levels];
        for (int i = 0; i < levels; i++) out[i] = v.isArray() ? v.get(i).asInt() : v.asInt();
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"sdxl-base", "sdxl-refiner", "sdxl-inpaint"})
    void fixtureConfigsExpandPerLevel(String model) {
        JsonNode j = json(model);
        UNet2DConditionConfig c = UNet2DConditionConfig.parse(j);
        int levels = j.get("block_out_channels").size();
        assertEquals(levels, c.levels());
        assertEquals(j.get("in_channels").asInt(), c.inChannels());
        // the "attention_head_dim" list is the head count (spec §3.2)
        assertArrayEquals(perLevel(j.get("attention_head_dim"), levels), c.numAttentionHeads());
        assertArrayEquals(perLevel(j.get("cross_attention_dim"), levels), c.crossAttentionDim());
        int[] depth = perLevel(j.get("transformer_layers_per_block"), levels);
        int[] layers = perLevel(j.get("layers_per_block"), levels);
        for (int i = 0; i < levels; i++) {
            assertEquals(layers[i], c.transformerLayersPerBlock()[i].length);
            for (int d : c.transformerLayersPerBlock()[i]) assertEquals(depth[i], d);
            // up level i re-enters down level levels-1-i, with one more resnet
            int rev = levels - 1 - i;
            assertEquals(layers[rev] + 1, c.reverseTransformerLayersPerBlock()[i].length);
            for (int d : c.reverseTransformerLayersPerBlock()[i]) assertEquals(depth[rev], d);
        }
        assertEquals(4 * j.get("block_out_channels").get(0).asInt(), c.timeEmbeddingDim());
        assertEquals(j.get("projection_class_embeddings_input_dim").asInt(), c.projectionClassEmbeddingsInputDim());
        assertEquals(j.get("addition_time_embed_dim").asInt(), c.additionTimeEmbedDim());
        assertEquals((float) j.get("norm_eps").asDouble(), c.normEps());
        assertEquals(j.get("norm_num_groups").asInt(), c.normNumGroups());
    }

    @Test
    void explicitReverseDepthsAreUsed() {
        ObjectNode j = json("sdxl-base").deepCopy();
        int levels = j.get("block_out_channels").size();
        var fwd = j.putArray("transformer_layers_per_block");
        var rev = j.putArray("reverse_transformer_layers_per_block");
        for (int i = 0; i < levels; i++) {
            var l = fwd.addArray();
            for (int k = 0; k < j.get("layers_per_block").asInt(); k++) l.add(i + k + 1);
            var r = rev.addArray();
            for (int k = 0; k <= j.get("layers_per_block").asInt(); k++) r.add(7 + k);
        }
        UNet2DConditionConfig c = UNet2DConditionConfig.parse(j);
        int up = c.upBlockTypes().indexOf("CrossAttnUpBlock2D"), down = c.downBlockTypes().indexOf("CrossAttnDownBlock2D");
        int last = c.layersPerBlock()[down] - 1;
        assertEquals(down + last + 1, c.transformerLayersPerBlock()[down][last]);
        assertEquals(8, c.reverseTransformerLayersPerBlock()[up][1]);
        // and the module tree follows them
        Params p = Params.shapesOnly("unet", DType.F32);
        new UNet2DConditionModel(c, p);
        String u = "up_blocks." + up + ".attentions.1.transformer_blocks.", d = "down_blocks." + down + ".attentions." + last + ".transformer_blocks.";
        assertTrue(p.requested().containsKey(u + "7.norm1.weight"));
        assertTrue(!p.requested().containsKey(u + "8.norm1.weight"));
        assertTrue(p.requested().containsKey(d + (down + last) + ".norm1.weight"));
        assertTrue(!p.requested().containsKey(d + (down + last + 1) + ".norm1.weight"));
    }

    static String errorOf(Consumer<ObjectNode> edit) {
        ObjectNode j = json("sdxl-base").deepCopy();
        edit.accept(j);
        return assertThrows(IllegalArgumentException.class, () -> UNet2DConditionConfig.parse(j)).getMessage();
    }

    @Test
    void badConfigsAreRefusedByName() {
        assertTrue(errorOf(j -> j.put("num_attention_heads", 8)).contains("num_attention_heads must be null"));
        assertTrue(errorOf(j -> j.withArray("down_block_types").set(0, "AttnDownBlock2D")).contains("down_block_types entry 'AttnDownBlock2D'"));
        assertTrue(errorOf(j -> j.put("mid_block_type", "UNetMidBlock2DSimpleCrossAttn")).contains("mid_block_type"));
        assertTrue(errorOf(j -> j.put("norm_num_groups", 7)).contains("not divisible by norm_num_groups = 7"));
        assertTrue(errorOf(j -> j.withArray("attention_head_dim").removeAll().add(1)).contains("attention_head_dim has 1 entries"));
        assertTrue(errorOf(j -> j.put("resnet_time_scale_shift", "scale_shift")).contains("resnet_time_scale_shift 'scale_shift'"));
        assertTrue(errorOf(j -> j.put("addition_embed_type", "text")).contains("addition_embed_type 'text'"));
        assertTrue(errorOf(j -> j.put("class_embed_type", "timestep")).contains("class_embed_type must be null"));
        assertTrue(errorOf(j -> {
            var t = j.putArray("transformer_layers_per_block");
            for (int i = 0; i < j.get("block_out_channels").size(); i++) t.addArray().add(1).add(1);
        }).contains("reverse_transformer_layers_per_block must be given"));
        assertTrue(errorOf(j -> j.put("conv_in_kernel", 2)).contains("conv_in_kernel"));
    }

    @Test
    void parsesJsonText() throws Exception {
        String text = new ObjectMapper().writeValueAsString(json("sdxl-refiner"));
        assertEquals(UNet2DConditionConfig.parse(json("sdxl-refiner")).inChannels(), UNet2DConditionConfig.parse(text).inChannels());
        assertThrows(IllegalArgumentException.class, () -> UNet2DConditionConfig.parse("{not json"));
    }
}
