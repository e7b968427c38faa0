package io.jdiffusion.cli;

import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.MaskTools;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** Options inpaint and outpaint share: the input image, mask dilation, strength and a UNet override. */
final class InpaintOptions {
    @Option(names = "--image", required = true, description = "Input image (PNG or JPEG).")
    Path image;

    @Option(names = "--dilate", paramLabel = "KxN", description = "Dilate the mask with a KxK kernel, N iterations (e.g. 15x2), like cv2.dilate.")
    String dilate;

    @Option(names = "--strength", description = "How much to change inside the mask, in (0, 1] (default 0.9999 like diffusers).")
    @Setting("schedule.strength")
    Double strength;

    @Option(names = "--unet", paramLabel = "FOLDER", description = "Use this UNet folder instead of the model's (e.g. a 9-channel inpainting UNet).")
    Path unet;

    /** SDXL's inpainting pipeline with --image, then what {@code command} sets (mask or canvas), then the other options here. */
    InpaintPipeline sdxl(SdxlModel base, java.util.function.Consumer<MaskTools<?>> command) {
        InpaintPipeline p = InpaintPipeline.of(base);
        p.image(GenerateCommand.readImage("--image", image), image.toString());
        command.accept(p);
        applyRest(p, p::unetOverride);
        return p;
    }

    /** The same for SD 1/2. */
    SdPipeline sd(SdModel model, java.util.function.Consumer<MaskTools<?>> command) {
        SdPipeline p = SdPipeline.inpaint(model).image(GenerateCommand.readImage("--image", image), image.toString());
        command.accept(p);
        applyRest(p, p::unet);
        return p;
    }

    /** Dilation, strength and UNet, after the mask or canvas is set by the command; {@code unetSetter} is the pipeline's. */
    private void applyRest(MaskTools<?> p, java.util.function.Consumer<Path> unetSetter) {
        if (dilate != null) {
            int[] kn = parseDilate(dilate);
            CommonOptions.option("--dilate", () -> p.dilate(kn[0], kn[1]));
        }
        SettingOptions.apply(this, p);
        if (unet != null) CommonOptions.option("--unet", () -> unetSetter.accept(unet));
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
