package io.jdiffusion.pipelines.checkpoint;

import io.jdiffusion.tensor.safetensors.SafetensorsFile;

import java.util.List;

/**
 * Tells SDXL base, refiner and inpainting single files apart by their keys and shapes (spec §4), and
 * SD 1.x (CLIP under cond_stage_model.transformer) from SD 2.x (OpenCLIP under cond_stage_model.model),
 * the keys diffusers' single-file loader tells them apart by.
 */
final class LayoutDetector {
    private LayoutDetector() {}

    static Layout detect(SafetensorsFile f) {
        List<String> names = f.names();
        boolean unet = any(names, "model.diffusion_model.");
        boolean bigGAt1 = any(names, "conditioner.embedders.1.model.transformer.resblocks.");
        boolean bigGAt0 = any(names, "conditioner.embedders.0.model.transformer.resblocks.");
        boolean clipL = any(names, "conditioner.embedders.0.transformer.");
        if (unet && bigGAt1 && clipL) {
            String convIn = "model.diffusion_model.input_blocks.0.0.weight";
            if (f.contains(convIn) && f.info(convIn).shape().length == 4 && f.info(convIn).shape()[1] == 9) return Layout.INPAINT;
            return Layout.BASE;
        }
        if (unet && bigGAt0 && !bigGAt1) return Layout.REFINER;
        boolean vae = any(names, "first_stage_model.");
        if (unet && vae && any(names, "cond_stage_model.transformer.")) return Layout.SD1;
        if (unet && vae && any(names, "cond_stage_model.model.transformer.resblocks.")) return Layout.SD2;
        throw new IllegalArgumentException(f.path() + " is not an SDXL or SD 1/2 single-file checkpoint: it looks like " + describe(f, names));
    }

    private static boolean any(List<String> names, String prefix) {
        for (String n : names) if (n.startsWith(prefix)) return true;
        return false;
    }

    private static String describe(SafetensorsFile f, List<String> names) {
        if (any(names, "cond_stage_model.transformer.")) return "a Stable Diffusion 1.x checkpoint (CLIP-L only under cond_stage_model)";
        if (any(names, "cond_stage_model.model.")) return "a Stable Diffusion 2.x checkpoint (OpenCLIP-H under cond_stage_model)";
        if (any(names, "lora_") || names.stream().anyMatch(n -> n.contains(".lora_"))) return "a LoRA adapter, not a full model";
        if (any(names, "model.diffusion_model.")) return "an SGM checkpoint without SDXL's text encoders";
        if (any(names, "down_blocks.") && any(names, "conv_in.")) {
            return "a diffusers component file (UNet or VAE): pass its model folder instead";
        }
        if (any(names, "text_model.") || any(names, "encoder.layers.")) return "a text-encoder weights file: pass its model folder instead";
        List<String> first = names.stream().limit(3).toList();
        return "an unknown layout (" + names.size() + " tensors, first keys " + first + ")";
    }
}
