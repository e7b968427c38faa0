package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The acceptance sweep's runs carry their inpainting measures: in run.json, the index, the list's columns and the compare page. */
class SweepMetricsTest {

    private static RunRecord cell(String seed, String refiner, String dilate) {
        return TinySweep.runs().stream().filter(r -> r.sweep().cell().get("seed").equals(seed)
                && r.sweep().cell().get("refiner").equals(refiner) && r.sweep().cell().get("dilate").equals(dilate)).findFirst().orElseThrow();
    }

    @Test
    void everyInpaintingRunIsMeasuredAndDilationChangesTheSeam() throws Exception {
        RunStore store = RunStore.open(TinySweep.store());
        for (RunRecord r : TinySweep.runs()) {
            RunRecord stored = store.get(r.id());
            assertNotNull(stored.metrics(), r.id());
            double psnr = stored.metrics().get("psnrUnmasked"), ssim = stored.metrics().get("ssimUnmasked");
            assertTrue(psnr > 0 && psnr <= InpaintMetrics.PSNR_IDENTICAL, "psnr " + psnr);
            assertTrue(ssim > -1 && ssim <= 1, "ssim " + ssim);
            assertTrue(stored.metrics().get("seam") > 0, "seam " + stored.metrics());
            assertTrue(Files.readString(store.runDir(r.id()).resolve("run.json")).contains("\"seam\""));
        }
        for (String seed : List.of("1", "2")) {
            for (String refiner : List.of("off", "0.5")) {
                RunRecord plain = cell(seed, refiner, "off"), grown = cell(seed, refiner, "3x1");
                double undilated = plain.metrics().get("seam"), dilated = grown.metrics().get("seam");
                // the seam is measured on the output: it differs exactly when the dilation changed the picture (on
                // some fixture sets a 3×1 dilation leaves the latent-resolution mask, and so the image, unchanged)
                if (outputPixels(store, plain).equals(outputPixels(store, grown))) {
                    assertEquals(undilated, dilated, "same picture, same seam: seed " + seed + ", refiner " + refiner);
                } else {
                    assertNotEquals(undilated, dilated, "seed " + seed + ", refiner " + refiner);
                }
            }
        }
        // the list's columns and --where read them from the index
        RunStore.Entry e = store.list().runs().getFirst();
        String seam = RunColumns.of(e).get("seam");
        assertEquals(String.format(java.util.Locale.ROOT, "%.3f", store.get(e.id()).metrics().get("seam")), seam);
        assertTrue(new RunFilter(null, null, List.of("seam=" + seam)).select(store.list().runs()).contains(e));
        // the compare page lists them with the parameters
        Path page = Files.createTempFile("metrics", ".html");
        CompareReport.write(store, TinySweep.runs(), List.of(), page, false, true);
        assertTrue(Files.readString(page).contains("\"metrics.seam\":"), "the page carries metrics.seam");
        Files.delete(page);
    }

    private static String outputPixels(RunStore store, RunRecord r) {
        return io.jdiffusion.pipelines.Reproduction.pixelHash(store.file(r, r.outputs().getFirst().file()));
    }
}
