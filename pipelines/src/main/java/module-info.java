/**
 * The jdiffusion library: SDXL models, the text-to-image, image-to-image and inpaint pipelines,
 * their settings and generation records, and images. Native access is needed by io.jdiffusion.tensor
 * only: {@code --enable-native-access=io.jdiffusion.tensor}.
 */
module io.jdiffusion.pipelines {
    requires transitive io.jdiffusion.tensor;
    requires io.jdiffusion.text;
    requires io.jdiffusion.unet;
    requires io.jdiffusion.vae;
    requires io.jdiffusion.schedulers;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    // PNG/JPEG reading and writing (javax.imageio)
    requires java.desktop;

    exports io.jdiffusion.pipelines;
    exports io.jdiffusion.pipelines.image;
    // LoRA adapters a service fuses and unfuses on a loaded model (SdxlModel.loras)
    exports io.jdiffusion.pipelines.lora;
    // single-file layouts (Layout) appear in SdxlModel.random; the converter itself stays internal
    exports io.jdiffusion.pipelines.checkpoint;
    // generation records are read and written by Jackson
    opens io.jdiffusion.pipelines to com.fasterxml.jackson.databind;
}
