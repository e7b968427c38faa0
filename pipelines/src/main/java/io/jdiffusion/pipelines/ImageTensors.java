package io.jdiffusion.pipelines;

/** Conversions between the VAE's NCHW [-1, 1] tensors and NHWC [0, 1] images (diffusers' postprocess). */
final class ImageTensors {
    private ImageTensors() {}

    /** (x / 2 + 0.5).clamp(0, 1), NCHW → NHWC. */
    static float[] toNhwc01(float[] nchw, int n, int c, int h, int w) {
        float[] out = new float[nchw.length];
        int hw = h * w;
        for (int b = 0; b < n; b++) {
            for (int ch = 0; ch < c; ch++) {
                for (int i = 0; i < hw; i++) {
                    float v = nchw[(b * c + ch) * hw + i] / 2f + 0.5f;
                    out[(b * hw + i) * c + ch] = Math.min(Math.max(v, 0f), 1f);
                }
            }
        }
        return out;
    }
}
