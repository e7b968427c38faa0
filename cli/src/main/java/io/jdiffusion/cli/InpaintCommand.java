package io.jdiffusion.cli;

import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.MaskTools;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

@Command(name = "inpaint", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Repaints the white part of a mask (diffusers' StableDiffusionXLInpaintPipeline; StableDiffusionInpaintPipeline for SD 1/2).",
                "The mask can be dilated first like cv2.dilate with a KxK kernel for N iterations (--dilate KxN).",
                "Use --unet to run a 9-channel inpainting UNet with the base model's other parts."})
final class InpaintCommand extends GenerateCommand {
    @CommandLine.Mixin
    InpaintOptions inpaint;

    @Option(names = "--mask", required = true, description = "Mask of the same size: white (>= 128) is repainted.")
    Path mask;

    @Option(names = "--mask-blur", paramLabel = "R", description = "Gaussian blur radius applied to the mask (PIL GaussianBlur).")
    @Setting("mask.blur")
    Integer maskBlur;

    @Option(names = "--padding-mask-crop", paramLabel = "PX",
            description = "Generate only the mask's bounding box grown by PX pixels, at the output size, and paste it back (diffusers' padding_mask_crop).")
    @Setting("mask.paddingMaskCrop")
    Integer paddingMaskCrop;

    @CommandLine.Mixin
    RoundTo8Option rounding;

    @Override
    double defaultGuidance() { return InpaintPipeline.DEFAULT_GUIDANCE; }

    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) { return rounded(inpaint.sdxl(base, this::applyMask)); }

    @Override
    SdPipeline sdPipeline(SdModel model) { return rounded(inpaint.sd(model, this::applyMask)); }

    private <P extends MaskTools<P>> P rounded(P p) {
        rounding.apply(p, common, inpaint.image, null, 0, 0);
        return p;
    }

    /** --mask and the mask tools only inpaint has. */
    private void applyMask(MaskTools<?> p) {
        p.mask(readImage("--mask", mask), mask.toString());
        SettingOptions.apply(this, p);
    }
}
