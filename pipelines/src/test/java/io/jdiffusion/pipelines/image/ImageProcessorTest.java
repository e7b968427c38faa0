package io.jdiffusion.pipelines.image;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageProcessorTest {

    @Test
    void normalizeIsNumpyFloat32BitForBit() throws Exception {
        JsonNode bits = PilReferenceTest.index().get("numerics").get("normalize_bits");
        int[] all = new int[256];
        for (int v = 0; v < 256; v++) all[v] = v;
        float[] t = ImageProcessor.normalize(List.of(Image.ofSamples(256, 1, 1, all))).floats();
        for (int v = 0; v < 256; v++) {
            assertEquals(bits.get(v).asLong(), Float.floatToRawIntBits(t[v]) & 0xFFFFFFFFL, "normalize(" + v + ")");
        }
        assertEquals(-1f, t[0]);
        assertEquals(1f, t[255]);
    }

    @Test
    void postprocessRoundsLikeNumpyIncludingExactHalves() throws Exception {
        JsonNode n = PilReferenceTest.index().get("numerics");
        JsonNode bits = n.get("decoded_bits"), u8 = n.get("decoded_u8");
        assertTrue(n.get("halfway_cases").asInt() > 100, "the table must exercise exact .5 products");
        float[] x = new float[bits.size()];
        for (int i = 0; i < x.length; i++) x[i] = Float.intBitsToFloat((int) bits.get(i).asLong());
        // as a 1-row, 3-channel decoded image: shape (1, 3, 1, N/3)
        int w = x.length / 3;
        float[] nchw = new float[3 * w];
        for (int c = 0; c < 3; c++) for (int i = 0; i < w; i++) nchw[c * w + i] = x[i * 3 + c];
        Image img = ImageProcessor.postprocess(Tensor.of(nchw, 1, 3, 1, w)).getFirst();
        for (int i = 0; i < 3 * w; i++) assertEquals(u8.get(i).asInt(), img.samples()[i], "value " + x[i]);
        // hand-worked: 126.5 rounds to even 126, 127.5 to 128; NaN → 0
        assertEquals(128, ImageProcessor.toByte(0.5f));
        assertEquals(0, ImageProcessor.toByte(Float.NaN));
    }

    @Test
    void postprocessNpIsNhwcInUnitRange() {
        float[] d = {-3f, -1f, 0f, 1f, 5f, 0.5f};
        Tensor np = ImageProcessor.postprocessNp(Tensor.of(d, 1, 3, 1, 2));
        assertArrayEquals(new int[] {1, 1, 2, 3}, np.shape());
        // channel-major (-3,-1 | 0,1 | 5,0.5) → pixel-major
        assertArrayEquals(new float[] {0f, 0.5f, 1f, 0f, 1f, 0.75f}, np.floats());
    }

    @Test
    void maskBinarizesAt128AndConvertsRgbMasksByLuma() {
        int[] row = {0, 1, 127, 128, 129, 200, 254, 255};
        int[] px = new int[64];
        for (int i = 0; i < 64; i++) px[i] = row[i % 8];
        float[] t = ImageProcessor.preprocessMask(Image.ofSamples(8, 8, 1, px), 8, 8).floats();
        for (int i = 0; i < 64; i++) assertEquals(i % 8 >= 3 ? 1f : 0f, t[i], "mask value " + row[i % 8]);
        // 8x1 rounds down to height 0 → error naming the size
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageProcessor.preprocessMask(Image.ofSamples(8, 1, 1, row), null, null));
        assertTrue(e.getMessage().contains("8x1"), e.getMessage());
        // RGB mask → L by luma: pure blue (L=29) keeps, pure green (L=150) paints
        int[] rgb = new int[64 * 3];
        for (int i = 0; i < 64; i++) rgb[i * 3 + (i % 8 < 4 ? 2 : 1)] = 255;
        float[] m = ImageProcessor.preprocessMask(List.of(Image.ofSamples(8, 8, 3, rgb)), 8, 8,
                ImageProcessor.ResizeMode.DEFAULT, null).floats();
        for (int i = 0; i < 64; i++) assertEquals(i % 8 < 4 ? 0f : 1f, m[i], "rgb mask pixel " + i);
    }

    @Test
    void sizeChecksNameBothSizes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageProcessor.requireSameSize(Image.filled(128, 96, 0, 0, 0), Image.filled(64, 48, 0)));
        assertTrue(e.getMessage().contains("64x48") && e.getMessage().contains("128x96"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageProcessor.prepareInpaint(
                Image.filled(16, 16, 0, 0, 0), Image.filled(16, 8, 0), 16, 16, null));
        assertTrue(e.getMessage().contains("16x8") && e.getMessage().contains("16x16"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageProcessor.requireMultipleOf8(1000, 1001));
        assertTrue(e.getMessage().contains("1000") && e.getMessage().contains("1001"), e.getMessage());
        ImageProcessor.requireMultipleOf8(1024, 768);
        assertArrayEquals(new int[] {24, 32}, ImageProcessor.defaultHeightWidth(Image.filled(39, 31, 0), null, null));
        assertArrayEquals(new int[] {64, 8}, ImageProcessor.defaultHeightWidth(Image.filled(39, 31, 0), 70, 15));
    }

    @Test
    void cropRegionHandWorked() {
        // lit box x 5..8, y 3..4 on 20x10
        int[] px = new int[200];
        for (int y = 3; y <= 4; y++) for (int x = 5; x <= 8; x++) px[y * 20 + x] = 255;
        Image mask = Image.ofSamples(20, 10, 1, px);
        // 4x2 box, target square: height grows by 2, one row each side
        assertEquals(new CropBox(5, 2, 9, 6), ImageProcessor.cropRegion(mask, 8, 8, 0));
        // pad 1 → 6x4, grows to 6x6
        assertEquals(new CropBox(4, 1, 10, 7), ImageProcessor.cropRegion(mask, 8, 8, 1));
        // target 2:1 wide → 4x2 already matches (ratio equal → width branch, diff 0)
        assertEquals(new CropBox(5, 3, 9, 5), ImageProcessor.cropRegion(mask, 16, 8, 0));
        // bottom row lit on 10x10: 10x1 box grows to 10 rows, shifted back inside
        int[] bottom = new int[100];
        for (int x = 0; x < 10; x++) bottom[90 + x] = 1;
        assertEquals(new CropBox(0, 0, 10, 10), ImageProcessor.cropRegion(Image.ofSamples(10, 10, 1, bottom), 8, 8, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageProcessor.cropRegion(Image.filled(4, 4, 0), 8, 8, 2));
        assertTrue(e.getMessage().contains("all zero"), e.getMessage());
    }

    @Test
    void interpolateNearestTakesTopLeftOfEachCell() {
        float[] m = new float[16 * 24];
        for (int i = 0; i < m.length; i++) m[i] = i;
        Tensor out = ImageProcessor.interpolateNearest(Tensor.of(m, 1, 1, 16, 24), 2, 3);
        assertArrayEquals(new float[] {0, 8, 16, 8 * 24, 8 * 24 + 8, 8 * 24 + 16}, out.floats());
    }

    /** The pixel rows of a PNG as decoded by ImageIO directly (independent of ImageFiles' mode logic). */
    static int[] rawPixels(java.nio.file.Path p) throws Exception {
        BufferedImage bi = ImageIO.read(p.toFile());
        Raster r = bi.getRaster();
        return r.getPixels(0, 0, bi.getWidth(), bi.getHeight(), (int[]) null);
    }

    /**
     * init.png / mask.png of the first inpaint case in reference.json, converted the way the inpaint
     * pipeline does, against pixels worked out from the files.
     */
    @Test
    void fixtureInpaintInputs() throws Exception {
        JsonNode kase = null;
        for (var it = Fixtures.reference().get("cases").properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            JsonNode c = e.getValue();
            if (c.has("mask_image") && c.get("image").has("file") && c.has("height")) {
                kase = c;
                break;
            }
        }
        assertNotNull(kase, "an inpaint case with image and mask files");
        int H = kase.get("height").asInt(), W = kase.get("width").asInt();
        var imgPath = Fixtures.path(kase.get("image").get("file").asText());
        var maskPath = Fixtures.path(kase.get("mask_image").get("file").asText());
        Image image = ImageFiles.read(imgPath), mask = ImageFiles.read(maskPath);
        ImageProcessor.InpaintInputs in = ImageProcessor.prepareInpaint(image, mask, H, W, null);
        assertArrayEquals(new int[] {1, 3, H, W}, in.image().shape());
        assertArrayEquals(new int[] {1, 1, H, W}, in.mask().shape());
        assertNull(in.crop());

        // Expected pixels: the file's samples, resized with Lanczos only when the case asks for another size.
        int[] rawImg = rawPixels(imgPath), rawMask = rawPixels(maskPath);
        Image srcRgb = Image.ofSamples(image.width(), image.height(), 3, rawImg);
        Image srcL = Image.ofSamples(mask.width(), mask.height(), 1, rawMask);
        Image rgb = Lanczos.resize(srcRgb, W, H), l = Lanczos.resize(srcL, W, H);
        float[] x = in.image().floats(), m = in.mask().floats(), mi = in.maskedImage().floats();
        int painted = 0;
        for (int y = 0; y < H; y++) {
            for (int xx = 0; xx < W; xx++) {
                int p = y * W + xx;
                float mv = l.get(xx, y, 0) >= 128 ? 1f : 0f;
                assertEquals(mv, m[p], "mask at (" + xx + "," + y + ")");
                if (mv == 1f) painted++;
                for (int c = 0; c < 3; c++) {
                    float want = 2f * (rgb.get(xx, y, c) / 255f) - 1f;
                    assertEquals(want, x[c * H * W + p], "image c" + c + " at (" + xx + "," + y + ")");
                    // torch: x · 0 keeps the sign of x (−0.0 for negative pixels)
                    assertEquals(mv == 1f ? want * 0f : want, mi[c * H * W + p], "masked image c" + c + " at (" + xx + "," + y + ")");
                }
            }
        }
        assertTrue(painted > 0 && painted < H * W, "the fixture mask paints part of the image: " + painted);

        // the latent-size mask (step 6): top-left pixel of each 8x8 cell
        Tensor small = ImageProcessor.interpolateNearest(in.mask(), H / 8, W / 8);
        for (int i = 0; i < H / 8; i++) {
            for (int j = 0; j < W / 8; j++) assertEquals(m[(8 * i) * W + 8 * j], small.floats()[i * (W / 8) + j]);
        }

        // padding_mask_crop: the image is cropped to the crop box and fit with FILL
        ImageProcessor.InpaintInputs cropped = ImageProcessor.prepareInpaint(image, mask, H, W, 8);
        CropBox box = cropped.crop();
        assertNotNull(box);
        if ((long) image.width() * H == (long) image.height() * W) {
            // the box fits inside an image of the target's aspect, so only int truncation (< 1 px) remains
            assertTrue(Math.abs((long) box.width() * H - (long) box.height() * W) < Math.max(W, H),
                    "crop box " + box + " keeps the target aspect " + W + ":" + H);
        }
        Image filled = ImageProcessor.resize(srcRgb.crop(box.x1(), box.y1(), box.x2(), box.y2()), W, H, ImageProcessor.ResizeMode.FILL);
        assertEquals(2f * (filled.get(W / 2, H / 2, 1) / 255f) - 1f, cropped.image().floats()[H * W + (H / 2) * W + W / 2]);
    }

    @Test
    void img2imgRoundsTheImageDownToMultiplesOf8() {
        Image img = PngWriterTest.noise(37, 29, 3, 4);
        Tensor t = ImageProcessor.preprocess(img, null, null);
        assertArrayEquals(new int[] {1, 3, 24, 32}, t.shape());
        assertArrayEquals(ImageProcessor.normalize(List.of(Lanczos.resize(img, 32, 24))).floats(), t.floats());
        Image exact = PngWriterTest.noise(32, 16, 3, 4);
        float[] f = ImageProcessor.preprocess(exact, null, null).floats();
        assertEquals(2f * (exact.get(5, 3, 2) / 255f) - 1f, f[2 * 16 * 32 + 3 * 32 + 5], "no resize when already a multiple of 8");
    }

    @Test
    void batchesMustShareSizeAndMode() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageProcessor.normalize(List.of(Image.filled(8, 8, 0, 0, 0), Image.filled(8, 16, 0, 0, 0))));
        assertTrue(e.getMessage().contains("8x16"), e.getMessage());
        Tensor t = ImageProcessor.preprocess(List.of(Image.filled(16, 8, 255), Image.filled(20, 12, 0, 0, 0)), 8, 16,
                ImageProcessor.ResizeMode.DEFAULT, null);
        assertArrayEquals(new int[] {2, 3, 8, 16}, t.shape());
        assertEquals(1f, t.floats()[0]);
        assertEquals(-1f, t.floats()[3 * 8 * 16]);
    }
}
