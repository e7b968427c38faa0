package io.jdiffusion.cli;

import io.jdiffusion.pipelines.Img2ImgPipeline;
import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.SdxlPipeline;
import io.jdiffusion.pipelines.Text2ImagePipeline;
import io.jdiffusion.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Help at 80 columns: no line longer, no word broken (the words at 80 columns are exactly the words at
 * 1000, where nothing wraps), examples kept line for line, and each command's guidance default is its
 * pipeline's.
 */
class HelpLayoutTest {
    /** Every command path: "", "inpaint", "runs list", … */
    private static List<List<String>> commands(CommandLine cl, List<String> path, List<List<String>> out) {
        out.add(path);
        for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
            List<String> p = new ArrayList<>(path);
            p.add(e.getKey());
            commands(e.getValue(), p, out);
        }
        return out;
    }

    private static String help(List<String> path, int width) {
        CommandLine cl = Main.commandLine();
        cl.setUsageHelpAutoWidth(false);
        cl.setUsageHelpWidth(width);
        for (String name : path) cl = cl.getSubcommands().get(name);
        return cl.getUsageMessage(CommandLine.Help.Ansi.OFF);
    }

    private static List<String> words(String text) { return Arrays.stream(text.split("\\s+")).filter(w -> !w.isEmpty()).toList(); }

    @Test
    void helpFitsEightyColumnsWithoutBreakingAWord() {
        List<List<String>> all = commands(Main.commandLine(), List.of(), new ArrayList<>());
        assertTrue(all.size() > 12, "every command: " + all);
        for (List<String> path : all) {
            String narrow = help(path, 80), wide = help(path, 1000);
            for (String line : narrow.lines().toList()) assertTrue(line.length() <= 80, path + ": " + line.length() + " columns: " + line);
            assertEquals(words(wide), words(narrow), path + ": the same words at 80 columns as at 1000\n" + narrow);
            // examples (footer lines) are printed as written
            CommandLine cl = Main.commandLine();
            for (String name : path) cl = cl.getSubcommands().get(name);
            for (String f : cl.getCommandSpec().usageMessage().footer()) {
                if (!f.isBlank()) assertTrue(narrow.lines().anyMatch(l -> l.equals(f)), path + ": footer line re-broken: " + f + "\n" + narrow);
            }
        }
        // the cases that used to break: a dotted name, a path, an example line
        String inpaint = help(List.of("inpaint"), 80), main = help(List.of(), 80);
        assertTrue(inpaint.contains("cv2.dilate"), inpaint);
        assertTrue(main.contains("(~/.cache/huggingface/hub,"), main);
        assertTrue(main.contains("      --refiner stabilityai/stable-diffusion-xl-refiner-1.0 \\\n"), main);
        assertTrue(main.contains("  batch        Runs a dataset and records every cell in the run store."), "the command list shows first sentences: " + main);
    }

    @Test
    void guidanceShowsTheDefaultOfEachCommandsPipeline() {
        try (SdxlModel base = SdxlModel.load(HostileCli.base().toString(), null, CpuBackend.INSTANCE)) { // configs only: no weights
            Map<String, Function<SdxlModel, SdxlPipeline<?>>> pipelines = Map.of("txt2img", Text2ImagePipeline::of,
                    "img2img", Img2ImgPipeline::of, "inpaint", InpaintPipeline::of, "outpaint", InpaintPipeline::of);
            for (Map.Entry<String, Function<SdxlModel, SdxlPipeline<?>>> e : pipelines.entrySet()) {
                double real = e.getValue().apply(base).settings().guidance().scale();
                String shown = BigDecimal.valueOf(real).stripTrailingZeros().toPlainString();
                String h = help(List.of(e.getKey()), 1000);
                String line = h.lines().filter(l -> l.contains("--guidance=")).findFirst().orElseThrow();
                assertTrue(line.endsWith("(default: " + shown + ")"), e.getKey() + ": " + line);
            }
        }
        assertTrue(help(List.of("txt2img"), 1000).contains("(default: 5)"));
        assertTrue(help(List.of("inpaint"), 1000).contains("(default: 7.5)"));
    }
}
