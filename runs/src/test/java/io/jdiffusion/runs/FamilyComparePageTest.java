package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.InpaintPipeline;
import io.jdiffusion.pipelines.SdModel;
import io.jdiffusion.pipelines.SdPipeline;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.StepListener;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.SdFixtures;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tutorial's SDXL-vs-SD 2 comparison in the run store: the same image, mask, prompt and seed
 * inpainted by the tiny SDXL base and the tiny SD 2 model, recorded with their families ({@code
 * model.family} sdxl / sd2, filterable with {@code --where}), and their compare page rendered in
 * headless Chromium with both images and both families on it.
 */
class FamilyComparePageTest {
    @TempDir
    Path tmp;

    @Test
    void sdxlAndSd2RunsOfOneInputSideBySide() throws Exception {
        Backend backend = TinySweep.backend();
        SdFixtures.Set sd2 = SdFixtures.sets().stream().filter(s -> s.family().equals("sd2")).findFirst().orElse(SdFixtures.sets().getLast());
        Path init = sd2.path("init.png"), mask = sd2.path("mask.png");
        Image img = ImageFiles.read(init), m = ImageFiles.read(mask);
        RunStore store = RunStore.open(tmp.resolve("store"));
        Map<String, Path> inputs = Map.of("image", init, "mask", mask);
        GenerationResult sdxl, sd;
        try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, backend);
             InpaintPipeline p = InpaintPipeline.of(base)) {
            sdxl = p.image(img, init.toString()).mask(m, mask.toString()).prompt("a purple octopus").steps(2).seed(11).run();
        }
        try (SdModel model = SdModel.load(sd2.path("sd").toString(), backend); SdPipeline p = SdPipeline.inpaint(model)) {
            sd = p.image(img, init.toString()).mask(m, mask.toString()).prompt("a purple octopus").steps(2).seed(11).run();
        }
        RunRecord a = store.record("families", List.of(), sdxl, new StepTimings(StepListener.NONE).finish(), inputs);
        RunRecord b = store.record("families", List.of(), sd, new StepTimings(StepListener.NONE).finish(), inputs);
        String family = sd2.family().equals("sd15") ? "sd1" : "sd2";
        assertEquals("sdxl", RunParams.flatten(RunParams.of(sdxl.record())).get("model.family"));
        assertEquals(family, RunParams.flatten(RunParams.of(sd.record())).get("model.family"));
        List<RunStore.Entry> only = new RunFilter(null, null, List.of("model.family=" + family)).select(store.list().runs());
        assertEquals(List.of(b.id()), only.stream().map(RunStore.Entry::id).toList(), "--where model.family=" + family);

        Path page = CompareReport.write(store, List.of(a, b), List.of(), tmp.resolve("compare.html"), true);
        String chromium = ComparePageTest.chromium();
        Assumptions.assumeTrue(chromium != null,
                "chromium is not on the PATH: skipping the headless render (install: apt-get update && apt-get install -y chromium)");
        String dom = ComparePageTest.run(chromium, tmp, "--dump-dom", "--virtual-time-budget=10000", page.toUri().toString());
        assertEquals(2, ComparePageTest.count(dom, "class=\"card\""), "one card per run");
        Matcher imgs = Pattern.compile("<img[^>]+src=\"data:image/png;base64,").matcher(dom);
        int n = 0;
        while (imgs.find()) n++;
        assertTrue(n >= 2, "both outputs are shown: " + n + " images");
        assertTrue(dom.contains("<th data-key=\"model.family\" class=\"diff "), "the table marks the family as a column that differs");
        for (String f : List.of("sdxl", family)) {
            assertTrue(dom.contains("<td data-key=\"model.family\">" + f + "</td>"), "a row with family " + f);
            assertTrue(dom.contains("family = <b>" + f + "</b>"), "a card labelled with family " + f);
        }
        assertTrue(Files.size(page) > 0);
    }
}
