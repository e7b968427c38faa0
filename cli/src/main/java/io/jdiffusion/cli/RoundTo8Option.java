package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.Image;
import picocli.CommandLine.Option;

/**
 * --round-to-8 of inpaint and outpaint: the output takes the input image's size (plus the outpaint
 * extents), which the UNet needs in multiples of 8. diffusers rounds such a size down and resizes the
 * image to it; here that is asked for explicitly, and without it the size is an error that says
 * where it came from and what --round-to-8 would make of it.
 */
final class RoundTo8Option {
    @Option(names = "--round-to-8",
            description = "When the input image (plus --extend) is not a multiple of 8 on a side, round the output down to one and resize the image to it, as diffusers does (default: refuse such a size).")
    boolean roundTo8;

    /**
     * Checks the size the image (read from {@code file}) gives, before any weight loads, and with --round-to-8
     * sets the rounded output size; {@code extend} is the --extend text or null, {@code dx}/{@code dy} the pixels it adds.
     */
    void apply(io.jdiffusion.pipelines.MaskTools<?> p, CommonOptions common, java.nio.file.Path file, String extend, int dx, int dy) {
        if (common.width != null || common.height != null) return; // an explicit size wins (and is checked as given)
        Image img = p.image();
        int w = img.width() + dx, h = img.height() + dy;
        if (w % 8 == 0 && h % 8 == 0) return;
        int w8 = w / 8 * 8, h8 = h / 8 * 8;
        String origin = "the input image " + file + " of " + img.width() + "×" + img.height()
                + (extend == null ? "" : " plus --extend " + extend + " gives " + w + "×" + h);
        if (w8 == 0 || h8 == 0) throw new IllegalArgumentException("--image: " + origin + ", too small for one 8×8 block");
        if (!roundTo8) {
            throw new IllegalArgumentException("the output size " + w + "×" + h + " is not a multiple of 8 on each side (from " + origin
                    + "); add --round-to-8 to round it down to " + w8 + "×" + h8 + " as diffusers does, or give --width/--height");
        }
        CommonOptions.option("--round-to-8", () -> p.size(w8, h8));
    }
}
