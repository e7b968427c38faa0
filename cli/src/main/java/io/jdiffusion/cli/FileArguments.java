package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.OutputFile;

import java.nio.file.Files;
import java.nio.file.Path;

/** Checks of the files named on the command line, before any model is opened, with messages naming the option. */
final class FileArguments {
    private FileArguments() {}

    /** An image output: its folder exists, its name is .png/.jpg/.jpeg (or has no extension), and it may be written (see {@link OutputFile}). */
    static void output(Path output, boolean force) {
        OutputFile.checkImageName(output, "--output");
        OutputFile.check(output, force, "--output");
    }

    /** An input image: a folder, device or FIFO is named as such instead of "no such file". */
    static void image(String option, Path p) {
        if (Files.isDirectory(p)) throw new IllegalArgumentException(option + ": " + p + " is a folder, not an image file");
        if (Files.exists(p) && !Files.isRegularFile(p)) {
            throw new IllegalArgumentException(option + ": " + p + " is not a regular file (a device, FIFO or socket); name an image file");
        }
    }
}
