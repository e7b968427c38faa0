package io.jdiffusion.pipelines.image;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * Reading PNG and JPEG (and whatever else {@code javax.imageio} decodes, e.g. BMP/GIF) into an
 * {@link Image} the way PIL opens them, and writing PNGs (see {@link PngWriter}).
 *
 * <p>What a file becomes (PIL's mode after {@code Image.open}):
 * <ul>
 *   <li>8-bit grey → L, grey+alpha → LA, RGB → RGB, RGBA → RGBA (samples copied untouched: no gamma,
 *       ICC or colour management, like PIL);</li>
 *   <li>1/2/4-bit grey → L scaled to 0…255 (v·255/(2^bits−1), PIL's "L;1/L;2/L;4" raw modes);</li>
 *   <li>palette (PNG colour type 3, GIF) → RGB through the palette, transparency ignored: this is
 *       {@code convert("RGB")} of PIL's "P" image, done at read time (so a palette mask resized later
 *       goes through Lanczos per channel, where PIL would resize "P" with NEAREST);</li>
 *   <li>a tRNS chunk on a grey/RGB PNG is ignored (PIL keeps mode L/RGB and only notes the
 *       transparent colour);</li>
 *   <li>16-bit RGB/RGBA/LA → the high byte of each sample (PIL's ";16B" raw modes);
 *       16-bit grey is refused (PIL makes it mode "I;16", whose conversion to L clips);</li>
 *   <li>JPEG: ImageIO's libjpeg decoder (ISLOW IDCT, fancy chroma upsampling) → RGB or L. PIL uses
 *       libjpeg-turbo with the same defaults; this was not verified bit-for-bit here. CMYK/YCCK
 *       JPEGs are refused. EXIF orientation is not applied (PIL's {@code Image.open} does not
 *       either; diffusers' {@code load_image} does).</li>
 * </ul>
 */
public final class ImageFiles {
    private ImageFiles() {}

    private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    public static Image read(Path path) {
        byte[] bytes;
        try {
            if (Files.exists(path) && !Files.isRegularFile(path)) throw new IllegalArgumentException(path + " is not a regular file"); // /dev/zero never ends
            if (Files.size(path) > MAX_FILE_BYTES) {
                throw new IllegalArgumentException(path + " has " + Files.size(path) + " bytes; image files of more than " + MAX_FILE_BYTES + " are not read");
            }
            bytes = Files.readAllBytes(path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read image " + path + ": " + e.getMessage(), e);
        }
        return read(bytes, path.toString());
    }

    /** Decodes an image file held in memory; {@code name} is used in error messages. */
    public static Image read(byte[] bytes, String name) {
        int pngBitDepth = -1, pngColorType = -1;
        if (isPng(bytes)) {
            if (bytes.length < 33) throw new IllegalArgumentException(name + ": truncated PNG (no IHDR)");
            pngBitDepth = bytes[24] & 0xFF;
            pngColorType = bytes[25] & 0xFF;
            if (pngBitDepth == 16 && pngColorType == 0) {
                throw new IllegalArgumentException(name + ": 16-bit greyscale PNG is not supported (PIL opens it as "
                        + "mode I;16 and clips it when converting to L); save the image with 8 bits per sample");
            }
        }
        BufferedImage img = decode(bytes, name);
        Raster r = img.getRaster();
        ColorModel cm = img.getColorModel();
        int w = img.getWidth(), h = img.getHeight();
        if (cm instanceof IndexColorModel icm) {
            int[] idx = r.getSamples(0, 0, w, h, 0, new int[w * h]);
            if (pngColorType == 0) {
                // Low-bit-depth grey PNGs arrive as a grey-ramp palette; PIL reads them as L.
                byte[] out = new byte[w * h];
                for (int i = 0; i < out.length; i++) out[i] = (byte) icm.getRed(idx[i]);
                return new Image(w, h, 1, out);
            }
            byte[] out = new byte[w * h * 3];
            for (int i = 0; i < idx.length; i++) {
                out[3 * i] = (byte) icm.getRed(idx[i]);
                out[3 * i + 1] = (byte) icm.getGreen(idx[i]);
                out[3 * i + 2] = (byte) icm.getBlue(idx[i]);
            }
            return new Image(w, h, 3, out);
        }
        int bands = r.getNumBands();
        if (bands < 1 || bands > 4) {
            throw new IllegalArgumentException(name + ": unsupported image with " + bands + " samples per pixel");
        }
        if (cm.getColorSpace().getType() == java.awt.color.ColorSpace.TYPE_CMYK) {
            throw new IllegalArgumentException(name + ": CMYK images are not supported; convert to RGB first");
        }
        int bits = r.getSampleModel().getSampleSize(0);
        int[] px = r.getPixels(0, 0, w, h, new int[w * h * bands]);
        if ((pngColorType == 0 && bands == 2) || (pngColorType == 2 && bands == 4)) {
            // A tRNS chunk on a grey/RGB PNG: ImageIO turns it into an alpha channel, PIL keeps the
            // mode (L/RGB) and only records info["transparency"]. Drop the synthetic alpha.
            int keep = bands - 1;
            int[] stripped = new int[w * h * keep];
            for (int i = 0; i < w * h; i++) System.arraycopy(px, i * bands, stripped, i * keep, keep);
            px = stripped;
            bands = keep;
        }
        byte[] out = new byte[px.length];
        for (int i = 0; i < px.length; i++) {
            int v = px[i];
            out[i] = (byte) switch (bits) {
                case 8 -> v;
                case 16 -> v >>> 8;
                case 1, 2, 4 -> v * 255 / ((1 << bits) - 1);
                default -> throw new IllegalArgumentException(name + ": unsupported sample size of " + bits + " bits");
            };
        }
        return new Image(w, h, bands, out);
    }

    /** Largest input image file read. */
    static final long MAX_FILE_BYTES = 512L << 20;

    private static void checkSize(int w, int h, String name) {
        if (w > io.jdiffusion.pipelines.Limits.MAX_SIDE || h > io.jdiffusion.pipelines.Limits.MAX_SIDE) {
            throw new IllegalArgumentException(name + " is " + w + "×" + h + " pixels; input images may have at most "
                    + io.jdiffusion.pipelines.Limits.MAX_SIDE + " per side");
        }
    }

    private static BufferedImage decode(byte[] bytes, String name) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new IllegalArgumentException(name + ": not a readable image (PNG or JPEG expected)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                checkSize(reader.getWidth(0), reader.getHeight(0), name); // from the header, before the pixels are allocated
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            // ImageIO's JPEG reader reports CMYK/YCCK as "Unsupported Image Type".
            throw new IllegalArgumentException(name + ": cannot decode image: " + e.getMessage(), e);
        }
    }

    static boolean isPng(byte[] b) {
        if (b.length < PNG_SIGNATURE.length) return false;
        for (int i = 0; i < PNG_SIGNATURE.length; i++) if (b[i] != PNG_SIGNATURE[i]) return false;
        return true;
    }

    /**
     * Writes an 8-bit JPEG (RGB, or grey for L; alpha is dropped as PIL's convert("RGB") does) at
     * {@code quality} in [1, 100], with {@code comment} (e.g. the generation record) in a COM
     * segment; atomically, like {@link PngWriter#write}.
     */
    public static void writeJpeg(Path path, Image image, int quality, String comment) {
        PngWriter.writeAtomically(path, encodeJpeg(image, quality, comment));
    }

    /** The JPEG file bytes of {@link #writeJpeg}. */
    public static byte[] encodeJpeg(Image image, int quality, String comment) {
        return encodeJpeg(image, quality, comment == null ? java.util.List.of() : java.util.List.of(comment));
    }

    /** JPEG file bytes with one COM segment per comment, in order (the record, then e.g. the run id; see {@link ImageMetadata}). */
    public static byte[] encodeJpeg(Image image, int quality, java.util.List<String> comments) {
        if (quality < 1 || quality > 100) throw new IllegalArgumentException("JPEG quality must be in [1, 100], got " + quality);
        Image src = image.channels() == 1 ? image : image.toRgb();
        BufferedImage bi = new BufferedImage(src.width(), src.height(),
                src.channels() == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < src.height(); y++) {
            for (int x = 0; x < src.width(); x++) {
                if (src.channels() == 1) {
                    bi.getRaster().setSample(x, y, 0, src.get(x, y, 0));
                } else {
                    for (int c = 0; c < 3; c++) bi.getRaster().setSample(x, y, c, src.get(x, y, c));
                }
            }
        }
        javax.imageio.ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
             javax.imageio.stream.ImageOutputStream out = ImageIO.createImageOutputStream(bytes)) {
            writer.setOutput(out);
            javax.imageio.ImageWriteParam param = writer.getDefaultWriteParam();
            param.setCompressionMode(javax.imageio.ImageWriteParam.MODE_EXPLICIT);
            param.setCompressionQuality(quality / 100f);
            javax.imageio.metadata.IIOMetadata meta = writer.getDefaultImageMetadata(
                    new javax.imageio.ImageTypeSpecifier(bi), param);
            if (!comments.isEmpty()) {
                String format = "javax_imageio_jpeg_image_1.0";
                javax.imageio.metadata.IIOMetadataNode root = (javax.imageio.metadata.IIOMetadataNode) meta.getAsTree(format);
                for (String comment : comments) {
                    javax.imageio.metadata.IIOMetadataNode com = new javax.imageio.metadata.IIOMetadataNode("com");
                    com.setUserObject(comment.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    ((javax.imageio.metadata.IIOMetadataNode) root.getElementsByTagName("markerSequence").item(0)).appendChild(com);
                }
                meta.setFromTree(format, root);
            }
            writer.write(null, new javax.imageio.IIOImage(bi, null, meta), param);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot encode JPEG: " + e.getMessage(), e);
        } finally {
            writer.dispose();
        }
    }

    /** Writes a PNG atomically with the given text chunks; see {@link PngWriter#write}. */
    public static void writePng(Path path, Image image, Map<String, String> text) {
        PngWriter.write(path, image, text);
    }
}
