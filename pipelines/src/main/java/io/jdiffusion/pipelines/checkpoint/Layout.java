package io.jdiffusion.pipelines.checkpoint;

import java.util.EnumSet;
import java.util.Set;

/**
 * Which model a single-file checkpoint holds: SDXL base, refiner or inpainting (SGM layout), or a
 * Stable Diffusion 1.x / 2.x checkpoint (CompVis/Stability LDM layout, 4- or 9-channel UNet alike).
 */
public enum Layout {
    BASE(EnumSet.allOf(Component.class)),
    REFINER(EnumSet.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER_2)),
    INPAINT(EnumSet.allOf(Component.class)),
    /** SD 1.x: CLIP ViT-L under cond_stage_model.transformer. */
    SD1(EnumSet.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER)),
    /** SD 2.x: OpenCLIP ViT-H under cond_stage_model.model. */
    SD2(EnumSet.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER));

    private final Set<Component> components;

    Layout(Set<Component> components) { this.components = components; }

    public Set<Component> components() { return components; }

    /** A Stable Diffusion 1.x/2.x checkpoint (not SDXL). */
    public boolean sd() { return this == SD1 || this == SD2; }

    /** The folder name of the official diffusers config this layout is built from. */
    public String configName() {
        return switch (this) {
            case BASE -> "sdxl-base";
            case REFINER -> "sdxl-refiner";
            case INPAINT -> "sdxl-inpaint";
            case SD1 -> "sd1";
            case SD2 -> "sd2";
        };
    }
}
