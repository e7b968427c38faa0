package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.CropBox;
import io.jdiffusion.pipelines.image.Dilate;
import io.jdiffusion.pipelines.image.GaussianBlur;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageProcessor;
import io.jdiffusion.pipelines.image.Outpaint;
import io.jdiffusion.pipelines.image.Overlay;
import io.jdiffusion.tensor.Backend;

import java.util.ArrayList;
import java.util.List;

/**
 * Inpainting's inputs after the mask tools, as SDXL's {@link InpaintPipeline} and SD 1/2's
 * {@link SdPipeline#inpaint} both prepare them: the outpainting canvas, cv2-style dilation, Gaussian
 * blur, the output size, and padding_mask_crop's crop (whose result is pasted back afterwards).
 *
 * @param image      the canvas image (the input, or the outpainting canvas)
 * @param mask       the mask after outpaint, dilation and blur
 * @param pixels     the preprocessed image [1, 3, H, W] in [-1, 1], or null when the run continues from latents
 * @param maskTensor the preprocessed, binarized mask [1, 1, H, W]
 * @param crop       padding_mask_crop's box, or null
 */
record InpaintCanvas(Image image, Image mask, int width, int height, float[] pixels, float[] maskTensor, CropBox crop) {

    /**
     * Checks, before any model work, the canvas and output size an input image gives ({@code origin}
     * of the image for messages, may be null) and the memory the output needs.
     */
    static void checkSize(GenerationSettings s, Image image, String imageOrigin, Backend backend) {
        GenerationRecord.Outpaint outpaint = s.mask().outpaint();
        Integer width = s.size().width(), height = s.size().height();
        long cw = (long) image.width() + (outpaint == null ? 0 : outpaint.left() + outpaint.right());
        long ch = (long) image.height() + (outpaint == null ? 0 : outpaint.top() + outpaint.bottom());
        String origin = "from the input image " + (imageOrigin == null ? "" : imageOrigin + " ") + "of " + image.width() + "×" + image.height()
                + (outpaint == null ? "" : " plus the outpaint extents");
        if (outpaint != null) Limits.canvas(cw, ch, origin);
        checkOutput(s, width != null ? width : (int) cw, height != null ? height : (int) ch, width != null ? null : origin, backend);
    }

    /** The output size and the memory it needs ({@link Limits#output}); {@code origin} says where the size came from. */
    static void checkOutput(GenerationSettings s, int w, int h, String origin, Backend backend) {
        List<String> prompt = s.prompts().prompt();
        int images = s.outputLatents() ? 0 : (prompt == null ? 1 : prompt.size()) * s.size().imagesPerPrompt();
        Limits.output(w, h, images, origin, backend);
    }

    /**
     * Applies the settings' mask tools to {@code image} and {@code mask} (null with outpainting) and
     * preprocesses both at the output size; with {@code latents} (h × w latent pixels) the image is
     * not encoded and the size is the latents'.
     */
    static InpaintCanvas prepare(GenerationSettings s, Image image, Image mask, float[] latents, int latentHeight, int latentWidth) {
        GenerationSettings.Mask ms = s.mask();
        GenerationRecord.Outpaint outpaint = ms.outpaint();
        Image img = image;
        Image m = mask;
        if (outpaint != null) {
            Outpaint.Result canvas = Outpaint.extend(image,
                    new Outpaint.Extents(outpaint.left(), outpaint.top(), outpaint.right(), outpaint.bottom()), outpaint.overlap());
            img = canvas.image();
            m = canvas.mask();
        }
        if (ms.dilateKernel() != null) m = Dilate.dilate(m, ms.dilateKernel(), ms.dilateIterations());
        if (ms.blur() != null) m = GaussianBlur.blur(m, ms.blur());
        int w, h;
        if (latents != null) {
            w = latentWidth * 8;
            h = latentHeight * 8;
        } else {
            GenerationSettings.Size size = s.size();
            w = size.width() != null ? size.width() : img.width();
            h = size.height() != null ? size.height() : img.height();
        }
        Validation.divisibleBy8("width", w);
        Validation.divisibleBy8("height", h);
        if (ms.paddingMaskCrop() != null) {
            ImageProcessor.InpaintInputs in = ImageProcessor.prepareInpaint(img, m, h, w, ms.paddingMaskCrop());
            return new InpaintCanvas(img, m, w, h, in.image().floats(), in.mask().floats(), in.crop());
        }
        float[] pixels = latents == null ? ImageProcessor.preprocess(img, h, w).floats() : null;
        return new InpaintCanvas(img, m, w, h, pixels, ImageProcessor.preprocessMask(m, h, w).floats(), null);
    }

    /** The run's result; with padding_mask_crop, each generated crop pasted back into the canvas through the mask (apply_overlay). */
    GenerationResult pasteBack(GenerationResult r) {
        if (crop == null) return r;
        List<Image> pasted = new ArrayList<>();
        for (Image generated : r.images()) pasted.add(Overlay.apply(mask, image, generated, crop));
        return new GenerationResult(pasted, null, null, new int[] {pasted.size(), image.height(), image.width(), 3}, r.record());
    }
}
