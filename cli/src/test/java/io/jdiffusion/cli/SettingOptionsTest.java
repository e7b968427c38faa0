package io.jdiffusion.cli;

import io.jdiffusion.pipelines.GenerationSettings;
import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.Text2ImagePipeline;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.lang.reflect.Field;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@link Setting} options: each names a real setting, and the command line sets them on the pipeline's settings. */
class SettingOptionsTest {

    @Test
    void everySettingOptionNamesASettingOfTheRecord() {
        Set<String> paths = GenerationSettings.defaults(5, null).byPath().keySet();
        int found = 0;
        for (Class<?> c : List.of(CommonOptions.class, Img2ImgCommand.class, InpaintCommand.class, InpaintOptions.class)) {
            for (Field f : c.getDeclaredFields()) {
                Setting s = f.getAnnotation(Setting.class);
                if (s == null) continue;
                found++;
                assertTrue(paths.contains(s.value()), c.getSimpleName() + "." + f.getName() + ": no setting '" + s.value() + "' in " + paths);
                assertTrue(f.isAnnotationPresent(CommandLine.Option.class), f.getName() + " is a @Setting without @Option");
            }
        }
        assertTrue(found >= 15, "found " + found + " setting options");
    }

    @Test
    void optionsLandInTheSettingsAndBadValuesNameTheOption() {
        try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, CpuBackend.INSTANCE)) {
            Txt2ImgCommand cmd = new Txt2ImgCommand();
            new CommandLine(cmd).parseArgs("--model", "m", "-o", "x.png", "-p", "a", "-p", "b", "--prompt-2", "c", "--prompt-2", "d",
                    "-n", "e", "-n", "f", "--steps", "7", "--seed", "42", "-g", "3.5", "--guidance-rescale", "0.5",
                    "--scheduler", "ddim", "--num-images", "2", "--clip-skip", "1", "--quiet");
            try (Text2ImagePipeline p = Text2ImagePipeline.of(base)) {
                cmd.common.apply(p);
                GenerationSettings s = p.settings();
                assertEquals(List.of("a", "b"), s.prompts().prompt());
                assertEquals(List.of("c", "d"), s.prompts().prompt2());
                assertEquals(List.of("e", "f"), s.prompts().negativePrompt());
                assertEquals(7, s.schedule().steps());
                assertEquals(42L, s.schedule().seed());
                assertEquals("ddim", s.schedule().scheduler());
                assertEquals(3.5, s.guidance().scale());
                assertEquals(0.5, s.guidance().rescale());
                assertEquals(1, s.guidance().clipSkip());
                assertEquals(2, s.size().imagesPerPrompt());
            }

            InpaintCommand inpaint = new InpaintCommand();
            new CommandLine(inpaint).parseArgs("--model", "m", "-o", "x.png", "-p", "a", "--image", "i.png", "--mask", "m.png",
                    "--mask-blur", "-1");
            try (InpaintPipeline p = InpaintPipeline.of(base)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SettingOptions.apply(inpaint, p));
                assertTrue(e.getMessage().startsWith("--mask-blur: blur radius must be >= 0"), e.getMessage());
            }
        }
    }
}
