package io.jdiffusion.pipelines.cli;

import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

@Command(name = "outpaint", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Extends an image beyond its borders: the image is placed on a larger canvas and the new area",
                "(plus --overlap pixels into the original) is painted by the inpainting pipeline."})
final class OutpaintCommand extends GenerateCommand {
    @Option(names = "--image", required = true, description = "Input image (PNG or JPEG).")
    Path image;

    @Option(names = "--extend", required = true, paramLabel = "L,T,R,B",
            description = "Pixels to add on the left, top, right and bottom (e.g. 0,0,256,0); the result must be a multiple of 8.")
    String extend;

    @Option(names = "--overlap", defaultValue = "0", description = "How far the painted area reaches into the original (default: ${DEFAULT-VALUE}).")
    int overlap;

    @Option(names = "--dilate", paramLabel = "KxN", description = "Dilate the outpaint mask with a KxK kernel, N iterations.")
    String dilate;

    @Option(names = "--strength", description = "Strength in (0, 1] (default 0.9999 like diffusers).")
    Double strength;

    @Option(names = "--unet", paramLabel = "FOLDER", description = "Use this UNet folder instead of the model's (e.g. a 9-channel inpainting UNet).")
    Path unet;

    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) {
        InpaintPipeline p = InpaintPipeline.of(base);
        p.image(readImage("--image", image), image.toString());
        String[] parts = extend.split(",");
        if (parts.length != 4) throw new IllegalArgumentException("--extend: expected L,T,R,B (four pixel counts), got '" + extend + "'");
        int[] e = new int[4];
        try {
            for (int i = 0; i < 4; i++) e[i] = Integer.parseInt(parts[i].trim());
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException("--extend: expected four integers L,T,R,B, got '" + extend + "'");
        }
        CommonOptions.option("--extend", () -> p.outpaint(e[0], e[1], e[2], e[3], overlap));
        if (dilate != null) {
            int[] kn = InpaintCommand.parseDilate(dilate);
            CommonOptions.option("--dilate", () -> p.dilate(kn[0], kn[1]));
        }
        if (strength != null) CommonOptions.option("--strength", () -> p.strength(strength));
        if (unet != null) CommonOptions.option("--unet", () -> p.unetOverride(unet));
        return p;
    }
}
