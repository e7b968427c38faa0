package io.jdiffusion.cli;

import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.pipelines.Text2ImagePipeline;
import picocli.CommandLine.Command;

@Command(name = "txt2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates images from a prompt (diffusers' StableDiffusionXLPipeline; StableDiffusionPipeline for an SD 1/2 --model).",
                "With --refiner and --high-noise-fraction F the base runs the first F of the schedule and the refiner the rest."})
final class Txt2ImgCommand extends GenerateCommand {
    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) { return Text2ImagePipeline.of(base); }

    @Override
    SdPipeline sdPipeline(SdModel model) { return SdPipeline.txt2img(model); }
}
