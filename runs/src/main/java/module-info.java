/** The run store: recording, listing, comparing, sweeping and reproducing generations. */
module io.jdiffusion.runs {
    requires transitive io.jdiffusion.pipelines;
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    requires jdk.httpserver; // `runs serve`: the compare page on 127.0.0.1 with stars and notes editable

    exports io.jdiffusion.runs;
    // run records are read and written by Jackson
    opens io.jdiffusion.runs to com.fasterxml.jackson.databind;
}
