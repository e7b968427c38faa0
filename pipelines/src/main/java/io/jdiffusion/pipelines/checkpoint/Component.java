package io.jdiffusion.pipelines.checkpoint;

/** The parts of an SDXL (or SD 1/2) checkpoint, named like the diffusers folders that hold them. */
public enum Component {
    UNET("unet", "model.diffusion_model."),
    VAE("vae", "first_stage_model."),
    TEXT_ENCODER("text_encoder", "conditioner.embedders.0.transformer."),
    TEXT_ENCODER_2("text_encoder_2", "conditioner.embedders.1.model.");

    private final String folder;
    private final String basePrefix;

    Component(String folder, String basePrefix) {
        this.folder = folder;
        this.basePrefix = basePrefix;
    }

    /** The diffusers subfolder name. */
    public String folder() { return folder; }

    /**
     * The key prefix in the layout's checkpoint: the refiner keeps OpenCLIP bigG under embedders.0,
     * SD 1/2 keep their one text encoder under cond_stage_model (CLIP's transformer, OpenCLIP's model).
     */
    public String prefix(Layout layout) {
        if (this == TEXT_ENCODER_2 && layout == Layout.REFINER) return "conditioner.embedders.0.model.";
        if (this == TEXT_ENCODER && layout == Layout.SD1) return "cond_stage_model.transformer.";
        if (this == TEXT_ENCODER && layout == Layout.SD2) return "cond_stage_model.model.";
        return basePrefix;
    }
}
