package io.jdiffusion.pipelines.cli;

import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

@Command(name = "inpaint", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Repaints the white part of a mask (diffusers' StableDiffusionXLInpaintPipeline).",
                "The mask can be dilated first like cv2.dilate with a KxK kernel for N iterations (--dilate KxN).",
                "Use --unet to run a 9-channel inpainting UNet with the base model's other parts."})
final class InpaintCommand extends GenerateCommand {
    @Option(names = "--image", required = true, description = "Input image (PNG or JPEG).")
    Path image;

    @Option(names = "--mask", required = true, description = "Mask of the same size: white (>= 128) is repainted.")
    Path mask;

    @Option(names = "--dilate", paramLabel = "KxN", description = "Dilate the mask with a KxK kernel, N iterations (e.g. 15x2).")
    String dilate;

    @Option(names = "--mask-blur", paramLabel = "R", description = "Gaussian blur radius applied to the mask (PIL GaussianBlur).")
    Integer maskBlur;

    @Option(names = "--strength", description = "How much to change inside the mask, in (0, 1] (default 0.9999 like diffusers).")
    Double strength;

    @Option(names = "--unet", paramLabel = "FOLDER", description = "Use this UNet folder instead of the model's (e.g. a 9-channel inpainting UNet).")
    Path unet;

    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) {
        InpaintPipeline p = InpaintPipeline.of(base);
        configure(p);
        return p;
    }

    void configure(InpaintPipeline p) {
        p.image(readImage("--image", image), image.toString());
        p.mask(readImage("--mask", mask), mask.toString());
        if (dilate != null) {
            int[] kn = parseDilate(dilate);
            CommonOptions.option("--dilate", () -> p.dilate(kn[0], kn[1]));
        }
        if (maskBlur != null) CommonOptions.option("--mask-blur", () -> p.blur(maskBlur));
        if (strength != null) CommonOptions.option("--strength", () -> p.strength(strength));
        if (unet != null) CommonOptions.option("--unet", () -> p.unetOverride(unet));
    }

    static int[] parseDilate(String s) {
        String[] parts = s.toLowerCase(java.util.Locale.ROOT).split("x");
        try {
            if (parts.length == 2) return new int[] {Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim())};
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException("--dilate: expected KxN (kernel size x iterations, e.g. 15x2), got '" + s + "'");
    }
}
