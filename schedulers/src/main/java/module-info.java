/** Noise schedulers with diffusers' numbers. */
// qualified exports name modules that are compiled later ("module not found" at this point)
@SuppressWarnings("module")
module io.jdiffusion.schedulers {
    requires transitive io.jdiffusion.tensor;
    requires com.fasterxml.jackson.databind;

    exports io.jdiffusion.schedulers to io.jdiffusion.pipelines;
    // SchedulerConfig is read by Jackson
    opens io.jdiffusion.schedulers to com.fasterxml.jackson.databind;
}
