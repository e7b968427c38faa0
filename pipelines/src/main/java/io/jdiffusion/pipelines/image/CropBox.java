package io.jdiffusion.pipelines.image;

/** A pixel box (x1, y1) inclusive – (x2, y2) exclusive, PIL's crop-box convention. */
public record CropBox(int x1, int y1, int x2, int y2) {
    public CropBox {
        if (x2 <= x1 || y2 <= y1) {
            throw new IllegalArgumentException("crop box (" + x1 + ", " + y1 + ", " + x2 + ", " + y2 + ") is empty");
        }
    }

    public int width() { return x2 - x1; }

    public int height() { return y2 - y1; }
}
