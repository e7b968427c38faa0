package io.jdiffusion.cli;

import io.jdiffusion.pipelines.Img2ImgPipeline;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

@Command(name = "img2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Re-imagines an image (diffusers' StableDiffusionXLImg2ImgPipeline, also what the refiner runs;",
                "StableDiffusionImg2ImgPipeline for an SD 1/2 --model).",
                "The image keeps its size rounded down to a multiple of 8 unless --width/--height are given."})
final class Img2ImgCommand extends GenerateCommand {
    @Option(names = "--image", required = true, description = "Input image (PNG or JPEG).")
    Path image;

    @Option(names = "--strength", defaultValue = "0.3", description = "How much to change, in (0, 1] (default: ${DEFAULT-VALUE}).")
    @Setting("schedule.strength")
    double strength;

    @Override
    double defaultGuidance() { return Img2ImgPipeline.DEFAULT_GUIDANCE; }

    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) {
        Img2ImgPipeline p = Img2ImgPipeline.of(base);
        p.image(readImage("--image", image), image.toString());
        SettingOptions.apply(this, p);
        return p;
    }

    @Override
    SdPipeline sdPipeline(SdModel model) {
        SdPipeline p = SdPipeline.img2img(model).image(readImage("--image", image), image.toString());
        SettingOptions.apply(this, p);
        return p;
    }
}
