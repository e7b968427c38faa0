package io.jdiffusion.pipelines.checkpoint;

import java.util.EnumSet;
import java.util.Set;

/** Which SDXL model a single-file checkpoint holds. */
public enum Layout {
    BASE(EnumSet.allOf(Component.class)),
    REFINER(EnumSet.of(Component.UNET, Component.VAE, Component.TEXT_ENCODER_2)),
    INPAINT(EnumSet.allOf(Component.class));

    private final Set<Component> components;

    Layout(Set<Component> components) { this.components = components; }

    public Set<Component> components() { return components; }

    /** The folder name of the official diffusers config this layout is built from. */
    public String configName() {
        return switch (this) {
            case BASE -> "sdxl-base";
            case REFINER -> "sdxl-refiner";
            case INPAINT -> "sdxl-inpaint";
        };
    }
}
