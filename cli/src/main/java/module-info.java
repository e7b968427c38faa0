/** The jdiffusion command line. */
module io.jdiffusion.cli {
    requires io.jdiffusion.pipelines;
    requires io.jdiffusion.runs;
    requires info.picocli;

    // picocli reads and sets the commands' options reflectively
    opens io.jdiffusion.cli to info.picocli;
}
