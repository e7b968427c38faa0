package io.jdiffusion.tensor.safetensors;

import java.nio.file.Path;

/**
 * A safetensors file (or index) that cannot be read as one: the message names the file, the
 * tensor where there is one, and the problem. The only exception the reader throws for bad input.
 */
public final class SafetensorsException extends RuntimeException {
    private final Path file;
    private final String tensor;

    public SafetensorsException(Path file, String tensor, String problem) {
        this(file, tensor, problem, null);
    }

    public SafetensorsException(Path file, String tensor, String problem, Throwable cause) {
        super(file + (tensor == null ? "" : ": tensor '" + tensor + "'") + ": " + problem, cause);
        this.file = file;
        this.tensor = tensor;
    }

    public Path file() { return file; }

    /** The tensor the problem concerns, or null for file-level problems. */
    public String tensor() { return tensor; }
}
