/** diffusers' UNet2DConditionModel for the SDXL configs. */
// qualified exports name modules that are compiled later ("module not found" at this point)
@SuppressWarnings("module")
module io.jdiffusion.unet {
    requires transitive io.jdiffusion.tensor;
    requires com.fasterxml.jackson.databind;

    exports io.jdiffusion.unet to io.jdiffusion.pipelines;
}
