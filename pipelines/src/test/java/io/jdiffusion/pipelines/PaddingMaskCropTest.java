package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** padding_mask_crop: only the mask's neighbourhood is generated, and the rest of the photo is untouched. */
class PaddingMaskCropTest {

    @Test
    void unmaskedPixelsKeepTheOriginalAndTheRecordReproduces() {
        Image image = ImageFiles.read(Fixtures.path("init.png")).toRgb();
        Image mask = ImageFiles.read(Fixtures.path("mask.png"));
        try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, CpuBackend.INSTANCE)) {
            GenerationResult cropped = InpaintPipeline.of(base).prompt("a red vase").image(image, Fixtures.path("init.png").toString())
                    .mask(mask, Fixtures.path("mask.png").toString()).paddingMaskCrop(8).steps(3).seed(5).run();
            Image out = cropped.images().get(0);
            assertEquals(image.size(), out.size(), "the result has the original's size");
            Image l = mask.toL();
            int kept = 0, painted = 0, changed = 0;
            for (int y = 0; y < image.height(); y++) {
                for (int x = 0; x < image.width(); x++) {
                    if (l.get(x, y, 0) == 0) {
                        for (int c = 0; c < 3; c++) {
                            assertEquals(image.get(x, y, c), out.get(x, y, c), "unmasked pixel (" + x + ", " + y + ") channel " + c);
                        }
                        kept++;
                    } else if (l.get(x, y, 0) == 255) {
                        painted++;
                        for (int c = 0; c < 3; c++) if (image.get(x, y, c) != out.get(x, y, c)) { changed++; break; }
                    }
                }
            }
            assertTrue(kept > 0 && painted > 0, "the fixture mask has both kinds of pixel");
            assertTrue(changed > painted / 2, "the masked area was repainted: " + changed + " of " + painted + " pixels changed");
            assertEquals(8, cropped.record().paddingMaskCrop());

            GenerationResult plain = InpaintPipeline.of(base).prompt("a red vase").image(image).mask(mask).steps(3).seed(5).run();
            assertNotEquals(java.util.Arrays.hashCode(plain.images().get(0).data()), java.util.Arrays.hashCode(out.data()),
                    "cropping changes what is generated");

            try (io.jdiffusion.pipelines.GenerationPipeline<?> again = Reproduction.pipeline(cropped.record())) {
                assertArrayEquals(out.data(), again.run().images().get(0).data(), "the record regenerates the same pixels");
            }
        }
    }
}
