package io.jdiffusion.pipelines.image;

import java.util.Arrays;

/**
 * An 8-bit image, the equivalent of a PIL image in mode "L" (1 channel), "LA" (2), "RGB" (3) or
 * "RGBA" (4). Pixels are stored row-major and interleaved ({@code data[(y·width + x)·channels + c]},
 * values 0…255 as unsigned bytes), which is the layout of {@code np.array(pil_image)}.
 *
 * <p>The conversions are PIL's {@code convert("RGB")} / {@code convert("L")}: alpha is dropped (not
 * composited), grey is replicated to RGB, and RGB→L is PIL's integer ITU-R 601 luma
 * {@code (19595·R + 38470·G + 7471·B + 32768) >> 16} (spec §7.3).
 *
 * <p>The byte array is not copied on construction and must not be modified afterwards; every
 * operation returns a new image.
 */
public record Image(int width, int height, int channels, byte[] data) {

    public Image {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("image size must be positive, got " + width + "x" + height);
        }
        if (channels < 1 || channels > 4) {
            throw new IllegalArgumentException("channels must be 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA), got " + channels);
        }
        if (data == null || (long) width * height * channels != data.length) {
            throw new IllegalArgumentException("a " + width + "x" + height + "x" + channels + " image needs "
                    + ((long) width * height * channels) + " bytes, got " + (data == null ? "null" : data.length));
        }
    }

    /** A new image of one colour; {@code value} holds one entry per channel. */
    public static Image filled(int width, int height, int... value) {
        byte[] d = new byte[Math.multiplyExact(Math.multiplyExact(width, height), value.length)];
        for (int i = 0; i < d.length; i++) d[i] = (byte) checkByte("value", value[i % value.length]);
        return new Image(width, height, value.length, d);
    }

    /** An image from unsigned sample values (0…255), interleaved like {@link #data()}. */
    public static Image ofSamples(int width, int height, int channels, int[] samples) {
        byte[] d = new byte[samples.length];
        for (int i = 0; i < d.length; i++) d[i] = (byte) checkByte("sample", samples[i]);
        return new Image(width, height, channels, d);
    }

    /** PIL's mode name of this image. */
    public String mode() {
        return switch (channels) {
            case 1 -> "L";
            case 2 -> "LA";
            case 3 -> "RGB";
            default -> "RGBA";
        };
    }

    public String size() { return width + "x" + height; }

    /** Sample of channel {@code c} at (x, y), 0…255. */
    public int get(int x, int y, int c) {
        return data[(y * width + x) * channels + c] & 0xFF;
    }

    /** The samples as ints 0…255 (interleaved). */
    public int[] samples() {
        int[] s = new int[data.length];
        for (int i = 0; i < s.length; i++) s[i] = data[i] & 0xFF;
        return s;
    }

    public boolean hasAlpha() { return channels == 2 || channels == 4; }

    /** PIL {@code convert("RGB")}: L/LA replicate the grey value, RGBA drops alpha. */
    public Image toRgb() {
        if (channels == 3) return this;
        int n = width * height;
        byte[] out = new byte[n * 3];
        for (int i = 0; i < n; i++) {
            if (channels <= 2) {
                byte v = data[i * channels];
                out[3 * i] = v;
                out[3 * i + 1] = v;
                out[3 * i + 2] = v;
            } else {
                System.arraycopy(data, i * 4, out, 3 * i, 3);
            }
        }
        return new Image(width, height, 3, out);
    }

    /** PIL {@code convert("L")}: integer luma for RGB/RGBA (alpha ignored), LA drops alpha. */
    public Image toL() {
        if (channels == 1) return this;
        int n = width * height;
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            int o = i * channels;
            if (channels == 2) {
                out[i] = data[o];
            } else {
                out[i] = (byte) luma(data[o] & 0xFF, data[o + 1] & 0xFF, data[o + 2] & 0xFF);
            }
        }
        return new Image(width, height, 1, out);
    }

    /** The image without its alpha channel (LA→L, RGBA→RGB); others unchanged. */
    public Image dropAlpha() {
        if (channels == 2) return toL();
        if (channels == 4) return toRgb();
        return this;
    }

    /** PIL's integer RGB→L conversion ({@code L24} in Pillow's Convert.c). */
    public static int luma(int r, int g, int b) {
        return (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
    }

    /**
     * PIL {@code crop((x1, y1, x2, y2))} restricted to boxes inside the image (PIL would pad outside
     * areas with zeros; no caller here needs that).
     */
    public Image crop(int x1, int y1, int x2, int y2) {
        if (x1 < 0 || y1 < 0 || x2 > width || y2 > height || x1 >= x2 || y1 >= y2) {
            throw new IllegalArgumentException("crop box (" + x1 + ", " + y1 + ", " + x2 + ", " + y2
                    + ") must be non-empty and inside the " + size() + " image");
        }
        int w = x2 - x1, h = y2 - y1;
        byte[] out = new byte[w * h * channels];
        for (int y = 0; y < h; y++) {
            System.arraycopy(data, ((y1 + y) * width + x1) * channels, out, y * w * channels, w * channels);
        }
        return new Image(w, h, channels, out);
    }

    /**
     * PIL {@code paste(src, (x, y))} of an image with the same channel count: copies {@code src}
     * with its top-left corner at (x, y), clipped to this image. Returns a new image.
     */
    public Image paste(Image src, int x, int y) {
        if (src.channels != channels) {
            throw new IllegalArgumentException("paste needs the same mode: target is " + mode() + ", source is " + src.mode());
        }
        byte[] out = data.clone();
        int x0 = Math.max(x, 0), x1 = Math.min(x + src.width, width);
        if (x0 >= x1) return new Image(width, height, channels, out);
        for (int yy = Math.max(y, 0); yy < Math.min(y + src.height, height); yy++) {
            System.arraycopy(src.data, ((yy - y) * src.width + (x0 - x)) * channels,
                    out, (yy * width + x0) * channels, (x1 - x0) * channels);
        }
        return new Image(width, height, channels, out);
    }

    /** One channel as an L image. */
    public Image channel(int c) {
        if (c < 0 || c >= channels) throw new IllegalArgumentException("channel " + c + " of a " + mode() + " image");
        int n = width * height;
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) out[i] = data[i * channels + c];
        return new Image(width, height, 1, out);
    }

    /** Interleaves L images of equal size into one image with that many channels. */
    public static Image merge(Image... planes) {
        int w = planes[0].width, h = planes[0].height, ch = planes.length;
        byte[] out = new byte[w * h * ch];
        for (int c = 0; c < ch; c++) {
            Image p = planes[c];
            if (p.channels != 1 || p.width != w || p.height != h) {
                throw new IllegalArgumentException("merge needs L planes of " + w + "x" + h + ", plane " + c
                        + " is " + p.mode() + " " + p.size());
            }
            for (int i = 0; i < w * h; i++) out[i * ch + c] = p.data[i];
        }
        return new Image(w, h, ch, out);
    }

    static int checkByte(String what, int v) {
        if (v < 0 || v > 255) throw new IllegalArgumentException(what + " must be in 0..255, got " + v);
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Image(int w, int h, int c, byte[] d)
                && w == width && h == height && c == channels && Arrays.equals(d, data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * width + height) + channels) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Image[" + mode() + " " + size() + "]";
    }
}
