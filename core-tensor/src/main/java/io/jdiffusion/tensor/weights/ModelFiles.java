package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.safetensors.SafetensorsException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds the weights of one component folder of a diffusers/transformers checkpoint (e.g.
 * {@code unet/} with base name {@code diffusion_pytorch_model}, {@code text_encoder/} with
 * {@code model}), with diffusers' variant naming:
 * <ul>
 *   <li>single file: {@code <base>.safetensors}, variant {@code <base>.<variant>.safetensors};</li>
 *   <li>sharded: {@code <base>.safetensors.index.json}, variant {@code <base>.safetensors.index.<variant>.json}
 *       (the shard names come from the index).</li>
 * </ul>
 * With a variant asked for, its files are preferred and the plain files are the fallback (as
 * diffusers falls back when a repository has no such variant). Without one, the plain files are
 * used, and if the folder has none but exactly one variant, that variant is used. Anything else
 * is an {@link IllegalArgumentException} listing every name looked for and what the folder holds.
 * This is the one place that knows these names: the UNet, the VAE, the text encoders and
 * single-file checkpoints ({@link #requireSafetensorsFile}) all find their weights here.
 *
 * <p>PyTorch pickles ({@code .bin}, {@code .ckpt}, {@code .pt}, {@code .pth}) are never read:
 * unpickling runs code from the file. They are refused with a message pointing at the
 * safetensors form of the same weights.
 */
public final class ModelFiles {
    private ModelFiles() {}

    /** Base names of diffusers model weights and of transformers model weights. */
    public static final String DIFFUSERS = "diffusion_pytorch_model";
    public static final String TRANSFORMERS = "model";

    public enum Layout { SINGLE, SHARDED }

    /**
     * What was found: the safetensors file or index, its layout, the variant it carries (null for
     * plain files) and whether it is a fallback from the variant asked for.
     */
    public record Found(Path file, Layout layout, String variant, boolean fallback) {
        public SafetensorsWeights open() { return open(UnaryOperator.identity()); }

        public SafetensorsWeights open(UnaryOperator<String> rename) {
            return layout == Layout.SINGLE ? SafetensorsWeights.open(List.of(file), rename) : SafetensorsWeights.openIndex(file, rename);
        }
    }

    /** Shard files (named by the index) are not variants: {@code <base>.fp16-00001-of-00002.safetensors}. */
    private static final Pattern SHARD_SUFFIX = Pattern.compile(".*-\\d+-of-\\d+$");

    /** Finds and opens the weights (see {@link #find}). */
    public static SafetensorsWeights open(Path folder, String baseName, String variant, UnaryOperator<String> rename) {
        return find(folder, baseName, variant).open(rename);
    }

    /** Locates the weights of {@code folder}; {@code variant} (e.g. "fp16") may be null. */
    public static Found find(Path folder, String baseName, String variant) {
        if (baseName == null || baseName.isEmpty() || baseName.contains("/")) {
            throw new IllegalArgumentException("baseName must be a plain file name stem like 'diffusion_pytorch_model', got '" + baseName + "'");
        }
        if (variant != null && (variant.isEmpty() || variant.contains("/") || variant.contains("."))) {
            throw new IllegalArgumentException("variant must be a name like 'fp16' (no dots or slashes), got '" + variant + "'");
        }
        if (!Files.isDirectory(folder)) throw new IllegalArgumentException("model folder " + folder + " does not exist");
        List<String> lookedFor = new ArrayList<>();
        if (variant != null) {
            Found f = tryVariant(folder, baseName, variant, false, lookedFor);
            if (f != null) return f;
        }
        Found plain = tryVariant(folder, baseName, null, variant != null, lookedFor);
        if (plain != null) return plain;
        TreeSet<String> variants = variantsIn(folder, baseName);
        if (variant == null && variants.size() == 1) {
            Found f = tryVariant(folder, baseName, variants.first(), true, lookedFor);
            if (f != null) return f;
        }
        StringBuilder msg = new StringBuilder("no weights named ").append(String.join(", ", lookedFor));
        if (variants.isEmpty()) msg.append(" nor any variant (e.g. ").append(baseName).append(".fp16.safetensors)");
        else msg.append("; variants present: ").append(variants).append(" (ask for one of them)");
        List<String> other = otherWeightFiles(folder, baseName);
        if (!other.isEmpty()) msg.append("; the folder has ").append(other).append(" (only safetensors are read: ").append(PICKLE_ADVICE).append(")");
        throw new IllegalArgumentException(folder + ": " + msg);
    }

    /** What to do with PyTorch pickle weights, in every message that refuses them. */
    static final String PICKLE_ADVICE = "PyTorch pickles can run code when loaded and are not read; download the model's "
            + ".safetensors files or convert them (diffusers: save_pretrained(dir, safe_serialization=True))";

    /**
     * Checks that a single-file checkpoint is a safetensors file (not a {@code .ckpt}/{@code .bin}
     * pickle) before anything reads it; {@code what} names it in the message (e.g. "model 'x.ckpt'").
     */
    public static Path requireSafetensorsFile(Path file, String what) {
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors")) return file;
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (PICKLE.stream().anyMatch(lower::endsWith)) {
            throw new IllegalArgumentException(what + " is a PyTorch pickle checkpoint; a single-file checkpoint must be a .safetensors file ("
                    + PICKLE_ADVICE + "; Stability publishes e.g. sd_xl_base_1.0.safetensors)");
        }
        throw new IllegalArgumentException(what + ": a single-file checkpoint must be a .safetensors file");
    }

    private static final List<String> PICKLE = List.of(".bin", ".ckpt", ".pt", ".pth");

    private static Found tryVariant(Path folder, String base, String variant, boolean fallback, List<String> lookedFor) {
        String single = variant == null ? base + ".safetensors" : base + "." + variant + ".safetensors";
        String index = variant == null ? base + ".safetensors.index.json" : base + ".safetensors.index." + variant + ".json";
        lookedFor.add(single);
        lookedFor.add(index);
        Path s = folder.resolve(single), i = folder.resolve(index);
        if (Files.isRegularFile(s)) return new Found(s, Layout.SINGLE, variant, fallback);
        if (Files.isRegularFile(i)) return new Found(i, Layout.SHARDED, variant, fallback);
        return null;
    }

    /** Variant names present for {@code base}: {@code <base>.<v>.safetensors} and {@code <base>.safetensors.index.<v>.json}. */
    static TreeSet<String> variantsIn(Path folder, String base) {
        TreeSet<String> out = new TreeSet<>();
        for (String name : list(folder)) {
            String v = null;
            if (name.startsWith(base + ".safetensors.index.") && name.endsWith(".json")) {
                v = name.substring((base + ".safetensors.index.").length(), name.length() - ".json".length());
            } else if (name.startsWith(base + ".") && name.endsWith(".safetensors")) {
                v = name.substring(base.length() + 1, name.length() - ".safetensors".length());
            }
            if (v != null && !v.isEmpty() && !v.contains(".") && !SHARD_SUFFIX.matcher(v).matches()) out.add(v);
        }
        return out;
    }

    private static List<String> otherWeightFiles(Path folder, String base) {
        List<String> out = new ArrayList<>();
        for (String name : list(folder)) {
            if (name.startsWith(base) && (PICKLE.stream().anyMatch(name::endsWith) || name.endsWith(".msgpack"))) {
                out.add(name);
            }
        }
        return out;
    }

    private static List<String> list(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new SafetensorsException(folder, null, "cannot list the model folder: " + e, e);
        }
    }
}
