package io.jdiffusion.pipelines.checkpoint;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsWriter;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import io.jdiffusion.tensor.weights.WeightSource;
import io.jdiffusion.unet.UNet2DConditionConfig;
import io.jdiffusion.vae.VaeConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

/**
 * Writes a diffusers SDXL (or SD 1/2) folder as one Stability-style single file (the inverse of
 * {@link SingleFileCheckpoint}): the same tensors, in their stored dtypes, under the original names;
 * q/k/v projections fused back into in_proj, the VAE's attention weights as 1×1 convs, OpenCLIP's
 * text_projection transposed back.
 */
public final class SingleFileWriter {
    private SingleFileWriter() {}

    public static void write(Path diffusersFolder, Layout layout, Path out) {
        UNet2DConditionConfig unet = UNet2DConditionConfig.load(diffusersFolder.resolve("unet/config.json"));
        VaeConfig vae = VaeConfig.load(diffusersFolder.resolve("vae/config.json"));
        int stride = unet.layersPerBlock()[0] + 1;
        SafetensorsWriter w = new SafetensorsWriter();
        List<WeightSource> open = new ArrayList<>();
        try {
            for (Component c : layout.components()) {
                String base = c == Component.UNET || c == Component.VAE ? ModelFiles.DIFFUSERS : ModelFiles.TRANSFORMERS;
            // transformers 4 wrote CLIP-L keys with a "text_model." prefix, transformers 5 without: take either
            UnaryOperator<String> rename = c == Component.TEXT_ENCODER
                    ? k -> k.startsWith("text_model.") ? k.substring("text_model.".length()) : k : UnaryOperator.identity();
                WeightSource src = ModelFiles.open(diffusersFolder.resolve(c.folder()), base, null, rename);
                open.add(src);
                addComponent(w, layout, c, c.prefix(layout), src, stride, vae.levels());
            }
            w.write(out); // the writer reads the mapped tensors, so the sources stay open until here
        } finally {
            open.forEach(WeightSource::close);
        }
    }

    private static void addComponent(SafetensorsWriter w, Layout layout, Component c, String prefix, WeightSource src, int stride, int vaeLevels) {
        Map<String, List<String>> fused = new LinkedHashMap<>();
        for (String key : new TreeSet<>(src.keys())) {
            if (OriginalKeys.ignored(c, key)) continue;
            OriginalKeys.Piece p = OriginalKeys.toOriginal(layout, c, key, src.keys(), stride, vaeLevels);
            Tensor t = src.tensor(key);
            String name = prefix + p.originalKey();
            switch (p.kind()) {
                case SAME -> w.add(name, t);
                case SQUEEZE -> w.add(name, t.reshape(t.dim(0), t.dim(1), 1, 1));
                case TRANSPOSE -> {
                    int r = t.dim(0), cols = t.dim(1);
                    float[] v = t.toFloatArray(), tr = new float[v.length];
                    for (int i = 0; i < r; i++) for (int j = 0; j < cols; j++) tr[j * r + i] = v[i * cols + j];
                    w.add(name, t.dtype(), tr, cols, r);
                }
                case QKV_ROWS -> fused.computeIfAbsent(name, k -> new ArrayList<>(List.of("", "", ""))).set(p.part(), key);
            }
        }
        for (Map.Entry<String, List<String>> e : fused.entrySet()) {
            List<Tensor> parts = e.getValue().stream().map(src::tensor).toList();
            int[] shape = parts.get(0).shape();
            shape[0] *= 3;
            float[] all = new float[Math.toIntExact(parts.get(0).numel() * 3)];
            int at = 0;
            for (Tensor part : parts) {
                float[] v = part.toFloatArray();
                System.arraycopy(v, 0, all, at, v.length);
                at += v.length;
            }
            w.add(e.getKey(), parts.get(0).dtype(), all, shape);
        }
        if (layout == Layout.SD2 && c == Component.TEXT_ENCODER) addOpenClipExtras(w, prefix, src, stride, vaeLevels);
    }

    /**
     * What a real SD 2 file holds beside the CLIPTextModel's weights: OpenCLIP ViT-H's last resblock
     * (diffusers runs the penultimate layer, so its convert drops it; here the model's last layer again,
     * negated, so that reading it would change the image) and text_projection.
     */
    private static void addOpenClipExtras(SafetensorsWriter w, String prefix, WeightSource src, int stride, int vaeLevels) {
        int layers = (int) src.keys().stream().filter(k -> k.startsWith("encoder.layers."))
                .map(k -> k.split("\\.")[2]).distinct().count();
        String last = "encoder.layers." + (layers - 1) + ".";
        Map<String, float[][]> fused = new LinkedHashMap<>();
        Map<String, Tensor> firstPart = new LinkedHashMap<>();
        for (String key : new TreeSet<>(src.keys())) {
            if (!key.startsWith(last)) continue;
            OriginalKeys.Piece p = OriginalKeys.toOriginal(Layout.SD2, Component.TEXT_ENCODER, key, src.keys(), stride, vaeLevels);
            String name = prefix + p.originalKey().replace("resblocks." + (layers - 1) + ".", "resblocks." + layers + ".");
            Tensor t = src.tensor(key);
            float[] v = t.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = -v[i];
            if (p.kind() == OriginalKeys.Piece.Kind.QKV_ROWS) {
                fused.computeIfAbsent(name, k -> new float[3][])[p.part()] = v;
                firstPart.putIfAbsent(name, t);
            } else {
                w.add(name, t.dtype(), v, t.shape());
            }
        }
        for (Map.Entry<String, float[][]> e : fused.entrySet()) {
            Tensor t = firstPart.get(e.getKey());
            int[] shape = t.shape();
            shape[0] *= 3;
            float[] all = new float[e.getValue()[0].length * 3];
            for (int i = 0; i < 3; i++) System.arraycopy(e.getValue()[i], 0, all, i * e.getValue()[0].length, e.getValue()[0].length);
            w.add(e.getKey(), t.dtype(), all, shape);
        }
        Tensor norm = src.tensor("final_layer_norm.weight");
        int width = norm.dim(0);
        w.add(prefix + "text_projection", norm.dtype(), new float[width * width], width, width);
    }
}
