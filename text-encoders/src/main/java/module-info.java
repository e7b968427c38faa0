/** The CLIP tokenizer and text encoders of SDXL. */
// qualified exports name modules that are compiled later ("module not found" at this point)
@SuppressWarnings("module")
module io.jdiffusion.text {
    requires transitive io.jdiffusion.tensor;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;

    exports io.jdiffusion.text to io.jdiffusion.pipelines;
}
