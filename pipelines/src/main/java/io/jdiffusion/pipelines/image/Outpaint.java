package io.jdiffusion.pipelines.image;

/**
 * Outpainting input: the picture placed on a larger canvas, and the inpaint mask of the new area.
 *
 * <p>The canvas is the source extended by {@code left/top/right/bottom} pixels. The mask is an L
 * image of the canvas size, 255 ("paint here") on the new area and 0 on the original, except that
 * {@code overlap} pixels of the original along every extended side are painted too, so the model can
 * blend the seam (sides with extent 0 get no overlap; an overlap as large as the original paints all
 * of it).
 *
 * <p>What goes into the new area ({@link Fill}): the default {@link Fill#EDGE} replicates the
 * nearest edge pixel of the source (like OpenCV's BORDER_REPLICATE). For the 9-channel inpainting
 * UNet it makes no difference (the pipeline zeroes masked pixels in {@code masked_image}), but the
 * 4-channel blending path and {@code strength < 1} start from the encoded canvas, and continuous
 * edge colours are a far better start than a flat block. {@link Fill#color} fills with one colour.
 */
public final class Outpaint {
    private Outpaint() {}

    /** How many pixels to add on each side. */
    public record Extents(int left, int top, int right, int bottom) {
        public Extents {
            if (left < 0 || top < 0 || right < 0 || bottom < 0) {
                throw new IllegalArgumentException("outpaint extents must be >= 0, got left=" + left + " top=" + top
                        + " right=" + right + " bottom=" + bottom);
            }
        }

        public static Extents all(int px) { return new Extents(px, px, px, px); }

        /**
         * These extents grown on the right and bottom so that the canvas of a width×height source is a
         * multiple of {@code multiple} in both directions (SDXL pipelines need multiples of 8).
         */
        public Extents roundedUp(int width, int height, int multiple) {
            if (multiple <= 0) throw new IllegalArgumentException("multiple must be positive, got " + multiple);
            int w = width + left + right, h = height + top + bottom;
            return new Extents(left, top, right + Math.floorMod(-w, multiple), bottom + Math.floorMod(-h, multiple));
        }
    }

    /** The content of the new area: edge replication or one colour (one value per channel, or one grey). */
    public record Fill(boolean edge, int[] color) {
        public static final Fill EDGE = new Fill(true, null);

        public static Fill color(int... color) {
            if (color.length == 0) throw new IllegalArgumentException("fill colour needs at least one value");
            for (int v : color) Image.checkByte("fill colour", v);
            return new Fill(false, color.clone());
        }
    }

    /** The canvas, its mask and where the source's top-left corner lies on the canvas. */
    public record Result(Image image, Image mask, int offsetX, int offsetY) {}

    /** {@link #extend(Image, Extents, Fill, int)} with edge replication. */
    public static Result extend(Image src, Extents e, int overlap) {
        return extend(src, e, Fill.EDGE, overlap);
    }

    public static Result extend(Image src, Extents e, Fill fill, int overlap) {
        if (overlap < 0) throw new IllegalArgumentException("outpaint overlap must be >= 0, got " + overlap);
        int sw = src.width(), sh = src.height(), ch = src.channels();
        int w = Math.addExact(Math.addExact(sw, e.left()), e.right());
        int h = Math.addExact(Math.addExact(sh, e.top()), e.bottom());
        int[] colour = null;
        if (!fill.edge()) {
            colour = fill.color();
            if (colour.length == 1 && ch > 1) {
                int g = colour[0];
                colour = new int[ch];
                java.util.Arrays.fill(colour, g);
                if (ch == 2 || ch == 4) colour[ch - 1] = 255; // opaque fill for images with alpha
            }
            if (colour.length != ch) {
                throw new IllegalArgumentException("fill colour has " + fill.color().length + " values but the image is "
                        + src.mode() + " (" + ch + " channels)");
            }
        }
        byte[] out = new byte[w * h * ch];
        byte[] in = src.data();
        for (int y = 0; y < h; y++) {
            int sy = y - e.top();
            boolean insideY = sy >= 0 && sy < sh;
            for (int x = 0; x < w; x++) {
                int sx = x - e.left();
                int o = (y * w + x) * ch;
                if (insideY && sx >= 0 && sx < sw) {
                    System.arraycopy(in, (sy * sw + sx) * ch, out, o, ch);
                } else if (colour == null) {
                    int cx = Math.clamp(sx, 0, sw - 1), cy = Math.clamp(sy, 0, sh - 1);
                    System.arraycopy(in, (cy * sw + cx) * ch, out, o, ch);
                } else {
                    for (int c = 0; c < ch; c++) out[o + c] = (byte) colour[c];
                }
            }
        }
        byte[] mask = new byte[w * h];
        // unpainted region of the original: shrink it by the overlap on each extended side
        int keepX0 = e.left() + (e.left() > 0 ? overlap : 0);
        int keepX1 = e.left() + sw - (e.right() > 0 ? overlap : 0);
        int keepY0 = e.top() + (e.top() > 0 ? overlap : 0);
        int keepY1 = e.top() + sh - (e.bottom() > 0 ? overlap : 0);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                boolean keep = x >= keepX0 && x < keepX1 && y >= keepY0 && y < keepY1;
                mask[y * w + x] = keep ? 0 : (byte) 255;
            }
        }
        return new Result(new Image(w, h, ch, out), new Image(w, h, 1, mask), e.left(), e.top());
    }
}
