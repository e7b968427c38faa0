/** The run store: recording, listing, comparing, sweeping and reproducing generations. */
module io.jdiffusion.runs {
    requires transitive io.jdiffusion.pipelines;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;

    exports io.jdiffusion.runs;
    // run records are read and written by Jackson
    opens io.jdiffusion.runs to com.fasterxml.jackson.databind;
}
