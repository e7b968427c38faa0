/** diffusers' AutoencoderKL (the SDXL VAE). */
// qualified exports name modules that are compiled later ("module not found" at this point)
@SuppressWarnings("module")
module io.jdiffusion.vae {
    requires transitive io.jdiffusion.tensor;
    requires com.fasterxml.jackson.databind;

    exports io.jdiffusion.vae to io.jdiffusion.pipelines;
}
