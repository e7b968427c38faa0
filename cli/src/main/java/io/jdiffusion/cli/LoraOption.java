package io.jdiffusion.cli;

import java.nio.file.Path;

/** A {@code --lora FILE[:SCALE]} value: the adapter file and its scale (1 when not given). */
record LoraOption(Path file, double scale) {
    static LoraOption parse(String value) {
        int colon = value.lastIndexOf(':');
        if (colon > 0 && colon < value.length() - 1) {
            String tail = value.substring(colon + 1);
            // a drive letter or a colon inside a file name is no scale: only a number after the last ':' is
            if (tail.matches("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?")) {
                double s = Double.parseDouble(tail);
                return new LoraOption(Path.of(value.substring(0, colon)), s);
            }
            if (!value.substring(0, colon).endsWith(".safetensors")) {
                return new LoraOption(Path.of(value), 1.0);
            }
            throw new IllegalArgumentException("'" + value + "': the scale after ':' must be a number like 0.8, got '" + tail + "'");
        }
        return new LoraOption(Path.of(value), 1.0);
    }
}
