package io.jdiffusion.pipelines.image;

import io.jdiffusion.pipelines.image.Outpaint.Extents;
import io.jdiffusion.pipelines.image.Outpaint.Fill;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Canvas and mask geometry against small hand-worked cases. */
class OutpaintTest {

    static final int P = 255;

    // 3x2 source:  10 20 30
    //              40 50 60
    static final Image SRC = Image.ofSamples(3, 2, 1, new int[] {10, 20, 30, 40, 50, 60});

    @Test
    void edgeReplicateCanvasAndMaskWithoutOverlap() {
        Outpaint.Result r = Outpaint.extend(SRC, new Extents(1, 0, 2, 1), 0);
        assertEquals(6, r.image().width());
        assertEquals(3, r.image().height());
        assertEquals(1, r.offsetX());
        assertEquals(0, r.offsetY());
        assertArrayEquals(new int[] {
                10, 10, 20, 30, 30, 30,
                40, 40, 50, 60, 60, 60,
                40, 40, 50, 60, 60, 60}, r.image().samples());
        assertArrayEquals(new int[] {
                P, 0, 0, 0, P, P,
                P, 0, 0, 0, P, P,
                P, P, P, P, P, P}, r.mask().samples());
    }

    @Test
    void overlapPaintsIntoTheOriginalOnlyOnExtendedSides() {
        // 4x3 source, extended left by 2 and bottom by 1, overlap 1:
        // the original's left column and bottom row are painted, its top row and right column are not.
        Image src = Image.filled(4, 3, 100);
        Outpaint.Result r = Outpaint.extend(src, new Extents(2, 0, 0, 1), Fill.color(7), 1);
        assertArrayEquals(new int[] {
                7, 7, 100, 100, 100, 100,
                7, 7, 100, 100, 100, 100,
                7, 7, 100, 100, 100, 100,
                7, 7, 7, 7, 7, 7}, r.image().samples());
        assertArrayEquals(new int[] {
                P, P, P, 0, 0, 0,
                P, P, P, 0, 0, 0,
                P, P, P, P, P, P,
                P, P, P, P, P, P}, r.mask().samples());
    }

    @Test
    void overlapLargerThanTheOriginalPaintsEverything() {
        Outpaint.Result r = Outpaint.extend(SRC, Extents.all(1), 5);
        for (int v : r.mask().samples()) assertEquals(P, v);
        Outpaint.Result none = Outpaint.extend(SRC, new Extents(0, 0, 0, 0), 3);
        assertEquals(SRC, none.image());
        for (int v : none.mask().samples()) assertEquals(0, v, "nothing extended, nothing painted");
    }

    @Test
    void rgbColourFillAndGreyShorthand() {
        Image rgb = Image.filled(1, 1, 1, 2, 3);
        Outpaint.Result r = Outpaint.extend(rgb, new Extents(0, 1, 0, 0), Fill.color(9, 8, 7), 0);
        assertArrayEquals(new int[] {9, 8, 7, 1, 2, 3}, r.image().samples());
        Outpaint.Result g = Outpaint.extend(rgb, new Extents(1, 0, 0, 0), Fill.color(128), 0);
        assertArrayEquals(new int[] {128, 128, 128, 1, 2, 3}, g.image().samples());
        Outpaint.Result e = Outpaint.extend(rgb, new Extents(0, 0, 2, 0), 0);
        assertArrayEquals(new int[] {1, 2, 3, 1, 2, 3, 1, 2, 3}, e.image().samples());
    }

    @Test
    void roundingExtentsToMultiplesOf8() {
        Extents e = new Extents(8, 0, 8, 0).roundedUp(37, 29, 8);
        assertEquals(new Extents(8, 0, 11, 3), e);
        Outpaint.Result r = Outpaint.extend(Image.filled(37, 29, 0), e, 0);
        assertEquals(56, r.image().width());
        assertEquals(32, r.image().height());
        ImageProcessor.requireMultipleOf8(r.image().height(), r.image().width());
        assertEquals(new Extents(0, 0, 0, 0), new Extents(0, 0, 0, 0).roundedUp(64, 16, 8));
    }

    @Test
    void badArguments() {
        assertThrows(IllegalArgumentException.class, () -> new Extents(-1, 0, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Outpaint.extend(SRC, Extents.all(1), -2));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Outpaint.extend(SRC, Extents.all(1), Fill.color(1, 2, 3), 0));
        assertTrue(e.getMessage().contains("3 values") && e.getMessage().contains("L"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Fill.color(300));
    }
}
