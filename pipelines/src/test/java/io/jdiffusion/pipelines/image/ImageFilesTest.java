package io.jdiffusion.pipelines.image;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reading files written by ImageIO's own encoders. Files written by Pillow (JPEG 4:2:0 and 4:4:4,
 * greyscale JPEG, palette with tRNS, LA, RGBA, 1-bit) are checked against Pillow's decoded pixels in
 * PilReferenceTest.
 */
class ImageFilesTest {

    static byte[] encode(BufferedImage bi, String format) throws IOException {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(bi, format, o), "ImageIO can write " + format);
        return o.toByteArray();
    }

    @Test
    void paletteBecomesRgbThroughThePaletteAndLumaForL() throws Exception {
        byte[] r = {(byte) 255, 0, 10, (byte) 200}, g = {0, (byte) 255, 20, 100}, b = {0, 0, 30, 50};
        IndexColorModel cm = new IndexColorModel(8, 4, r, g, b);
        BufferedImage bi = new BufferedImage(4, 2, BufferedImage.TYPE_BYTE_INDEXED, cm);
        for (int i = 0; i < 8; i++) bi.getRaster().setSample(i % 4, i / 4, 0, (i * 3) % 4);
        Image img = ImageFiles.read(encode(bi, "png"), "palette.png");
        assertEquals(3, img.channels());
        for (int i = 0; i < 8; i++) {
            int idx = (i * 3) % 4;
            int x = i % 4, y = i / 4;
            assertEquals(r[idx] & 0xFF, img.get(x, y, 0));
            assertEquals(g[idx] & 0xFF, img.get(x, y, 1));
            assertEquals(b[idx] & 0xFF, img.get(x, y, 2));
            // PIL: L = (19595 R + 38470 G + 7471 B + 32768) >> 16, worked by hand for the palette
            int[] luma = {76, 150, 18, 124};
            assertEquals(luma[idx], img.toL().get(x, y, 0), "luma of palette entry " + idx);
        }
    }

    @Test
    void greyscaleAndRgbJpegAndPngKeepTheirModes() throws Exception {
        BufferedImage grey = new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) grey.getRaster().setSample(x, y, 0, 90);
        Image gj = ImageFiles.read(encode(grey, "jpg"), "grey.jpg");
        assertEquals("L", gj.mode());
        for (int v : gj.samples()) assertTrue(Math.abs(v - 90) <= 1, "flat grey JPEG decodes to ~90, got " + v);
        Image gp = ImageFiles.read(encode(grey, "png"), "grey.png");
        assertEquals(Image.filled(16, 16, 90), gp);

        BufferedImage rgb = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) rgb.setRGB(x, y, 0x3080C0);
        Image rj = ImageFiles.read(encode(rgb, "jpg"), "rgb.jpg");
        assertEquals("RGB", rj.mode());
        int[] want = {0x30, 0x80, 0xC0};
        for (int i = 0; i < rj.data().length; i++) {
            assertTrue(Math.abs(rj.samples()[i] - want[i % 3]) <= 3, "flat colour JPEG sample " + i + " = " + rj.samples()[i]);
        }
        Image rp = ImageFiles.read(encode(rgb, "png"), "rgb.png");
        assertEquals(Image.filled(16, 16, 0x30, 0x80, 0xC0), rp);
    }

    @Test
    void rgbaIsReadWithAlphaAndConvertsByDroppingIt() throws Exception {
        BufferedImage bi = new BufferedImage(3, 1, BufferedImage.TYPE_INT_ARGB);
        bi.setRGB(0, 0, 0x80FF0000);
        bi.setRGB(1, 0, 0x0000FF00);
        bi.setRGB(2, 0, 0xFF0000FF);
        Image img = ImageFiles.read(encode(bi, "png"), "rgba.png");
        assertEquals("RGBA", img.mode());
        assertEquals(Image.ofSamples(3, 1, 4, new int[] {255, 0, 0, 128, 0, 255, 0, 0, 0, 0, 255, 255}), img);
        assertEquals(Image.ofSamples(3, 1, 3, new int[] {255, 0, 0, 0, 255, 0, 0, 0, 255}), img.toRgb());
        assertEquals(Image.ofSamples(3, 1, 1, new int[] {76, 150, 29}), img.toL());
    }

    @Test
    void clearErrors() throws Exception {
        BufferedImage g16 = new BufferedImage(2, 2, BufferedImage.TYPE_USHORT_GRAY);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ImageFiles.read(encode(g16, "png"), "deep.png"));
        assertTrue(e.getMessage().contains("deep.png") && e.getMessage().contains("16-bit"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ImageFiles.read("not an image".getBytes(), "notes.txt"));
        assertTrue(e.getMessage().contains("notes.txt"), e.getMessage());
    }
}
