package io.jdiffusion.unet;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The module tree built (shape-only, nothing allocated) from the official full-size configs of
 * spec §3.1 asks for exactly the state-dict keys and shapes of the released checkpoints
 * (testdata/sdxl-keys.json) and has their parameter counts.
 */
class FullSizeConfigsTest {
    /** stabilityai/stable-diffusion-xl-base-1.0 unet/config.json (fields of spec §3.1; the rest at diffusers defaults). */
    static final String BASE = """
            {
              "_class_name": "UNet2DConditionModel",
              "act_fn": "silu",
              "addition_embed_type": "text_time",
              "addition_embed_type_num_heads": 64,
              "addition_time_embed_dim": 256,
              "attention_head_dim": [5, 10, 20],
              "block_out_channels": [320, 640, 1280],
              "center_input_sample": false,
              "class_embed_type": null,
              "class_embeddings_concat": false,
              "conv_in_kernel": 3,
              "conv_out_kernel": 3,
              "cross_attention_dim": 2048,
              "cross_attention_norm": null,
              "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
              "downsample_padding": 1,
              "dual_cross_attention": false,
              "encoder_hid_dim": null,
              "encoder_hid_dim_type": null,
              "flip_sin_to_cos": true,
              "freq_shift": 0,
              "in_channels": %d,
              "layers_per_block": 2,
              "mid_block_only_cross_attention": null,
              "mid_block_scale_factor": 1,
              "mid_block_type": "UNetMidBlock2DCrossAttn",
              "norm_eps": 1e-05,
              "norm_num_groups": 32,
              "num_attention_heads": null,
              "num_class_embeds": null,
              "only_cross_attention": false,
              "out_channels": 4,
              "projection_class_embeddings_input_dim": 2816,
              "resnet_out_scale_factor": 1.0,
              "resnet_skip_time_act": false,
              "resnet_time_scale_shift": "default",
              "sample_size": 128,
              "time_cond_proj_dim": null,
              "time_embedding_act_fn": null,
              "time_embedding_dim": null,
              "time_embedding_type": "positional",
              "timestep_post_act": null,
              "transformer_layers_per_block": [1, 2, 10],
              "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
              "upcast_attention": null,
              "use_linear_projection": true
            }""";

    /** stabilityai/stable-diffusion-xl-refiner-1.0 unet/config.json. */
    static final String REFINER = """
            {
              "_class_name": "UNet2DConditionModel",
              "act_fn": "silu",
              "addition_embed_type": "text_time",
              "addition_embed_type_num_heads": 64,
              "addition_time_embed_dim": 256,
              "attention_head_dim": [6, 12, 24, 24],
              "block_out_channels": [384, 768, 1536, 1536],
              "center_input_sample": false,
              "class_embed_type": null,
              "class_embeddings_concat": false,
              "conv_in_kernel": 3,
              "conv_out_kernel": 3,
              "cross_attention_dim": 1280,
              "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
              "downsample_padding": 1,
              "dual_cross_attention": false,
              "flip_sin_to_cos": true,
              "freq_shift": 0,
              "in_channels": 4,
              "layers_per_block": 2,
              "mid_block_scale_factor": 1,
              "mid_block_type": "UNetMidBlock2DCrossAttn",
              "norm_eps": 1e-05,
              "norm_num_groups": 32,
              "num_attention_heads": null,
              "only_cross_attention": false,
              "out_channels": 4,
              "projection_class_embeddings_input_dim": 2560,
              "resnet_time_scale_shift": "default",
              "sample_size": 128,
              "time_embedding_type": "positional",
              "transformer_layers_per_block": 4,
              "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
              "upcast_attention": null,
              "use_linear_projection": true
            }""";

    static Map<String, int[]> moduleTree(String configJson) {
        Params p = Params.shapesOnly("unet", DType.F16);
        new UNet2DConditionModel(UNet2DConditionConfig.parse(configJson), p);
        p.finish();
        return p.requested();
    }

    static void assertSameTree(String component, Map<String, int[]> tree, long expectedCount) {
        JsonNode keys = Fixtures.sdxlKeys().get(component);
        List<String> problems = new ArrayList<>();
        TreeSet<String> expected = new TreeSet<>();
        keys.fieldNames().forEachRemaining(expected::add);
        for (String k : expected) {
            JsonNode shapeNode = keys.get(k).get(0);
            int[] shape = new int[shapeNode.size()];
            for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asInt();
            int[] got = tree.get(k);
            if (got == null) problems.add("missing " + k + " " + Arrays.toString(shape));
            else if (!Arrays.equals(got, shape)) problems.add(k + ": expected " + Arrays.toString(shape) + ", built " + Arrays.toString(got));
        }
        for (String k : new TreeSet<>(tree.keySet())) if (!expected.contains(k)) problems.add("extra " + k + " " + Arrays.toString(tree.get(k)));
        assertTrue(problems.isEmpty(), component + ": " + problems.size() + " differences, e.g. " + problems.subList(0, Math.min(20, problems.size())));
        assertEquals(expected.size(), tree.size(), component + " tensor count");
        long count = 0;
        for (int[] s : tree.values()) count += Arrays.stream(s).asLongStream().reduce(1, (a, b) -> a * b);
        assertEquals(expectedCount, count, component + " parameter count");
    }

    @Test
    void baseTreeMatchesOfficialCheckpoint() {
        assertSameTree("unet_base", moduleTree(BASE.formatted(4)), 2_567_463_684L);
    }

    @Test
    void refinerTreeMatchesOfficialCheckpoint() {
        assertSameTree("unet_refiner", moduleTree(REFINER), 2_259_526_660L);
    }

    @Test
    void inpaintingTreeMatchesOfficialCheckpoint() {
        assertSameTree("unet_inpaint", moduleTree(BASE.formatted(9)), 2_567_478_084L);
    }

    @Test
    void headCountsAreReadFromAttentionHeadDim() {
        UNet2DConditionConfig base = UNet2DConditionConfig.parse(BASE.formatted(4));
        assertEquals(List.of(5, 10, 20), Arrays.stream(base.numAttentionHeads()).boxed().toList());
        Map<String, int[]> tree = moduleTree(BASE.formatted(4));
        // 10 blocks in down_blocks.2 / mid / up_blocks.0, 2 in down_blocks.1 / up_blocks.1: the depth list and its reverse
        assertTrue(tree.containsKey("down_blocks.2.attentions.1.transformer_blocks.9.attn1.to_q.weight"));
        assertTrue(!tree.containsKey("down_blocks.2.attentions.1.transformer_blocks.10.attn1.to_q.weight"));
        assertTrue(tree.containsKey("mid_block.attentions.0.transformer_blocks.9.ff.net.2.bias"));
        assertTrue(tree.containsKey("up_blocks.0.attentions.2.transformer_blocks.9.norm3.weight"));
        assertTrue(tree.containsKey("up_blocks.1.attentions.2.transformer_blocks.1.norm3.weight"));
        assertTrue(!tree.containsKey("up_blocks.1.attentions.2.transformer_blocks.2.norm3.weight"));
    }
}
