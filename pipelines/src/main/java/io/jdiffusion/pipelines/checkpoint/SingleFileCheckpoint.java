package io.jdiffusion.pipelines.checkpoint;

import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.TensorInfo;
import io.jdiffusion.tensor.weights.WeightSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Stability single-file SDXL checkpoint (sd_xl_base_1.0.safetensors and the like) or SD 1/2 one
 * (v1-5-pruned-emaonly.safetensors, v2-1_768-ema-pruned.safetensors and the like), mapped once
 * and served per component under diffusers' names. Tensors stay in the mapped file (renames,
 * squeezes and q/k/v row slices are views); only OpenCLIP's text_projection is transposed into a
 * small new buffer of the same dtype.
 */
public final class SingleFileCheckpoint implements AutoCloseable {
    private final SafetensorsFile file;
    private final Layout layout;

    private SingleFileCheckpoint(SafetensorsFile file, Layout layout) {
        this.file = file;
        this.layout = layout;
    }

    /** Opens and identifies a checkpoint; a file that is not SDXL or SD 1/2 is refused with what it looks like. */
    public static SingleFileCheckpoint open(Path path) {
        SafetensorsFile f = SafetensorsFile.open(path);
        try {
            return new SingleFileCheckpoint(f, LayoutDetector.detect(f));
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    public Layout layout() { return layout; }

    public Path path() { return file.path(); }

    /** The UNet's input channels (conv_in's second dimension: 4, or 9 for an inpainting model). */
    public int unetInChannels() {
        String convIn = "model.diffusion_model.input_blocks.0.0.weight";
        if (!file.contains(convIn)) throw new IllegalArgumentException(file.path() + " has no UNet conv_in weight '" + convIn + "'");
        int[] s = file.info(convIn).shape();
        if (s.length != 4) throw new IllegalArgumentException(file.path() + ": '" + convIn + "' should be a 4-D conv weight, found " + Arrays.toString(s));
        return s[1];
    }

    /**
     * The weights of one component under diffusers' names. {@code unetBlockStride} is the UNet
     * config's layers_per_block + 1 and {@code vaeLevels} the VAE config's number of blocks.
     */
    public WeightSource component(Component c, int unetBlockStride, int vaeLevels) {
        if (!layout.components().contains(c)) {
            throw new IllegalArgumentException(file.path() + " is " + (layout.sd() ? "a Stable Diffusion " + layout.configName()
                    : "an SDXL " + layout.name().toLowerCase()) + " checkpoint and holds no " + c.folder());
        }
        String prefix = c.prefix(layout);
        // SD 2 runs OpenCLIP ViT-H's penultimate layer as the CLIPTextModel's last: diffusers' convert drops the last resblock
        int dropped = layout == Layout.SD2 && c == Component.TEXT_ENCODER
                ? originalKeys(c).stream().mapToInt(k -> OriginalKeys.resblock(k.substring(prefix.length()))).max().orElse(-1) : -1;
        Map<String, OriginalKeys.Piece> pieces = new LinkedHashMap<>();
        for (String k : file.names()) {
            if (!k.startsWith(prefix)) continue;
            String rel = k.substring(prefix.length());
            if (OriginalKeys.ignored(c, rel) || (dropped >= 0 && OriginalKeys.resblock(rel) == dropped)) continue;
            for (OriginalKeys.Mapped m : OriginalKeys.toDiffusers(layout, c, rel, unetBlockStride, vaeLevels)) {
                OriginalKeys.Piece before = pieces.put(m.diffusersKey(), m.piece());
                if (before != null) {
                    throw new IllegalArgumentException(file.path() + ": original keys '" + prefix + before.originalKey() + "' and '"
                            + k + "' both map to " + c.folder() + " key '" + m.diffusersKey() + "'");
                }
            }
        }
        return new ComponentWeights(c, prefix, pieces);
    }

    /** All original keys under a component's prefix (for counting and for round-trip checks). */
    public List<String> originalKeys(Component c) {
        String prefix = c.prefix(layout);
        return file.names().stream().filter(k -> k.startsWith(prefix)).toList();
    }

    @Override
    public void close() { file.close(); }

    private final class ComponentWeights implements WeightSource {
        private final Component component;
        private final String prefix;
        private final Map<String, OriginalKeys.Piece> pieces;

        ComponentWeights(Component component, String prefix, Map<String, OriginalKeys.Piece> pieces) {
            this.component = component;
            this.prefix = prefix;
            this.pieces = pieces;
        }

        @Override
        public Set<String> keys() { return Collections.unmodifiableSet(new TreeSet<>(pieces.keySet())); }

        @Override
        public int[] shape(String key) {
            OriginalKeys.Piece p = piece(key);
            int[] s = file.info(prefix + p.originalKey()).shape();
            return switch (p.kind()) {
                case SAME -> s;
                case SQUEEZE -> squeezed(key, s);
                case QKV_ROWS -> {
                    if (s.length == 0 || s[0] % 3 != 0) {
                        throw new IllegalArgumentException(origin(key) + ": a fused q/k/v tensor needs a first dimension divisible by 3, found "
                                + Arrays.toString(s));
                    }
                    int[] r = s.clone();
                    r[0] = s[0] / 3;
                    yield r;
                }
                case TRANSPOSE -> {
                    if (s.length != 2) throw new IllegalArgumentException(origin(key) + ": expected a 2-D projection, found " + Arrays.toString(s));
                    yield new int[] {s[1], s[0]};
                }
            };
        }

        private int[] squeezed(String key, int[] s) {
            if (s.length == 4 && s[2] == 1 && s[3] == 1) return new int[] {s[0], s[1]};
            if (s.length == 2) return s;
            throw new IllegalArgumentException(origin(key) + ": expected a 1×1 conv weight, found " + Arrays.toString(s));
        }

        @Override
        public Tensor tensor(String key) {
            OriginalKeys.Piece p = piece(key);
            Tensor t = file.tensor(prefix + p.originalKey());
            int[] shape = shape(key);
            return switch (p.kind()) {
                case SAME, SQUEEZE -> t.reshape(shape);
                case QKV_ROWS -> t.slice(p.part() * shape[0], (p.part() + 1) * shape[0]);
                case TRANSPOSE -> transpose2d(file.info(prefix + p.originalKey()), file.bytes(prefix + p.originalKey()), t);
            };
        }

        @Override
        public String origin(String key) {
            OriginalKeys.Piece p = pieces.get(key);
            return file.path() + (p == null ? "" : " (original key '" + prefix + p.originalKey() + "')");
        }

        private OriginalKeys.Piece piece(String key) {
            OriginalKeys.Piece p = pieces.get(key);
            if (p == null) throw new IllegalArgumentException("no " + component.folder() + " weight '" + key + "' in " + file.path());
            return p;
        }

        @Override
        public void close() {}
    }

    /** A [r, c] tensor's transpose [c, r] in the same dtype, byte for byte. */
    static Tensor transpose2d(TensorInfo info, MemorySegment src, Tensor original) {
        int rows = info.shape()[0], cols = info.shape()[1];
        int size = info.dtype().itemSize();
        MemorySegment dst = Arena.ofAuto().allocate((long) rows * cols * size, 8);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                MemorySegment.copy(src, ValueLayout.JAVA_BYTE, ((long) r * cols + c) * size, dst, ValueLayout.JAVA_BYTE,
                        ((long) c * rows + r) * size, size);
            }
        }
        return new Tensor(new SegmentStorage(dst, original.dtype()), 0L, cols, rows);
    }
}
