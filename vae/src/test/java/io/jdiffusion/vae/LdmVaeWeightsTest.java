package io.jdiffusion.vae;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The VAE inside the single-file checkpoint (LDM names) loads to the same model as the diffusers folder. */
class LdmVaeWeightsTest {

    @Test
    void renamesAsSpecTable() {
        assertEquals("encoder.down_blocks.1.resnets.0.conv_shortcut.weight", LdmVaeWeights.toDiffusers("encoder.down.1.block.0.nin_shortcut.weight", 4));
        assertEquals("encoder.down_blocks.2.downsamplers.0.conv.bias", LdmVaeWeights.toDiffusers("encoder.down.2.downsample.conv.bias", 4));
        assertEquals("decoder.up_blocks.3.resnets.2.norm1.weight", LdmVaeWeights.toDiffusers("decoder.up.0.block.2.norm1.weight", 4));
        assertEquals("decoder.up_blocks.0.upsamplers.0.conv.weight", LdmVaeWeights.toDiffusers("decoder.up.3.upsample.conv.weight", 4));
        assertEquals("decoder.mid_block.resnets.1.conv2.weight", LdmVaeWeights.toDiffusers("decoder.mid.block_2.conv2.weight", 4));
        assertEquals("encoder.mid_block.attentions.0.group_norm.bias", LdmVaeWeights.toDiffusers("encoder.mid.attn_1.norm.bias", 4));
        assertEquals("decoder.mid_block.attentions.0.to_out.0.weight", LdmVaeWeights.toDiffusers("decoder.mid.attn_1.proj_out.weight", 4));
        assertEquals("encoder.mid_block.attentions.0.to_k.weight", LdmVaeWeights.toDiffusers("encoder.mid.attn_1.k.weight", 4));
        assertEquals("decoder.conv_norm_out.weight", LdmVaeWeights.toDiffusers("decoder.norm_out.weight", 4));
        assertEquals("post_quant_conv.weight", LdmVaeWeights.toDiffusers("post_quant_conv.weight", 4));
        assertEquals("encoder.conv_in.weight", LdmVaeWeights.toDiffusers("encoder.conv_in.weight", 4));
    }

    @Test
    void singleFileVaeEqualsDiffusersFolderVae() {
        VaeConfig cfg = VaeConfig.load(Fixtures.path("sdxl-base/vae"));
        try (SafetensorsWeights folder = SafetensorsWeights.open(Fixtures.path("sdxl-base/vae/" + AutoencoderKL.WEIGHTS));
             LdmVaeWeights single = new LdmVaeWeights(SafetensorsWeights.open(Fixtures.path("sdxl-base-single-file.safetensors")), cfg.levels())) {
            // Same names, same shapes, same numbers.
            assertEquals(new java.util.TreeSet<>(folder.keys()), new java.util.TreeSet<>(single.keys()));
            TreeMap<String, String> a = new TreeMap<>(), b = new TreeMap<>();
            for (String k : folder.keys()) {
                a.put(k, Arrays.toString(folder.shape(k)));
                b.put(k, Arrays.toString(single.shape(k)));
                assertArrayEquals(folder.tensor(k).toFloatArray(), single.tensor(k).toFloatArray(), k);
            }
            assertEquals(a, b);
            // And the model built from it decodes like the folder's.
            AutoencoderKL v = AutoencoderKL.load(cfg, single, CpuBackend.INSTANCE);
            Tensor z = Fixtures.tensor("vae/latents");
            AutoencoderKL ref = AutoencoderKL.load(cfg, folder, CpuBackend.INSTANCE);
            assertArrayEquals(ref.decode(z).toFloatArray(), v.decode(z).toFloatArray());
        }
    }
}
