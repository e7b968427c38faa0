package io.jdiffusion.runs;

import io.jdiffusion.pipelines.image.Image;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The measures on 2×2 images, against values worked out by hand from the formulas in {@link InpaintMetrics}. */
class InpaintMetricsTest {

    /** A grey RGB image (R = G = B, so the luma Y is the value itself), rows top to bottom. */
    private static Image grey(int... v) {
        byte[] b = new byte[v.length * 3];
        for (int i = 0; i < v.length; i++) for (int c = 0; c < 3; c++) b[3 * i + c] = (byte) v[i];
        return new Image(2, v.length / 2, 3, b);
    }

    // the right column is masked
    private static final Image MASK = new Image(2, 2, 1, new byte[] {0, (byte) 255, 0, (byte) 255});
    private static final Image ORIGINAL = grey(10, 20, 30, 40);

    @Test
    void measuresWorkedOutByHand() {
        Image out = grey(12, 100, 30, 200);
        Map<String, Double> m = InpaintMetrics.of(ORIGINAL, MASK, List.of(out));
        // unmasked pixels (0,0): 10 → 12 and (0,1): 30 → 30; squared errors 4,4,4,0,0,0 over 6 values: MSE 2
        assertEquals(10 * Math.log10(65025 / 2.0), m.get("psnrUnmasked"), 1e-9);
        assertEquals(45.1205, m.get("psnrUnmasked"), 1e-4);
        // x = {10, 30}, y = {12, 30}: μx 20, μy 21, σx² 100, σy² 81, σxy 90; C1 6.5025, C2 58.5225
        assertEquals((846.5025 * 238.5225) / (847.5025 * 239.5225), m.get("ssimUnmasked"), 1e-9);
        // boundary pairs: (0,0)-(1,0) and (0,1)-(1,1); original steps 10 and 10 (mean 10), output 88 and 170 (mean 129)
        assertEquals(12.9, m.get("seam"), 1e-9);
    }

    @Test
    void identicalUnmaskedRegionAndAverages() {
        Image keep = grey(10, 25, 30, 35); // unmasked pixels untouched; boundary steps 15 and 5: mean 10 as in the original
        Map<String, Double> m = InpaintMetrics.of(ORIGINAL, MASK, List.of(keep));
        assertEquals(InpaintMetrics.PSNR_IDENTICAL, m.get("psnrUnmasked"));
        assertEquals(1.0, m.get("ssimUnmasked"), 1e-12);
        assertEquals(1.0, m.get("seam"), 1e-12);
        // over two outputs each measure is the mean: seam (12.9 + 1) / 2
        Map<String, Double> two = InpaintMetrics.of(ORIGINAL, MASK, List.of(grey(12, 100, 30, 200), keep));
        assertEquals((12.9 + 1.0) / 2, two.get("seam"), 1e-9);
        // nothing to measure: all masked, or sizes that differ (outpainting)
        assertEquals(Map.of(), InpaintMetrics.of(ORIGINAL, new Image(2, 2, 1, new byte[] {-1, -1, -1, -1}), List.of(keep)));
        assertEquals(Map.of(), InpaintMetrics.of(ORIGINAL, MASK, List.of(grey(1, 2, 3, 4, 5, 6))));
    }
}
