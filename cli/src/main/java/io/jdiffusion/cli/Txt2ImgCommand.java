package io.jdiffusion.cli;

import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.pipelines.Text2ImagePipeline;
import picocli.CommandLine.Command;

@Command(name = "txt2img", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generates images from a prompt (diffusers' StableDiffusionXLPipeline).",
                "With --refiner and --high-noise-fraction F the base runs the first F of the schedule and the refiner the rest."})
final class Txt2ImgCommand extends GenerateCommand {
    @Override
    SdxlPipeline<?> pipeline(SdxlModel base) { return Text2ImagePipeline.of(base); }
}
