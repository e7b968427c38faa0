package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsException;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.SafetensorsIndex;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Weights from one or more mapped safetensors files (shards), with an optional renaming of the
 * stored keys into the model's names (e.g. dropping transformers 4's "text_model." prefix).
 * A name that occurs twice (across shards, or after renaming) is a {@link SafetensorsException}.
 * {@link ModelFiles} finds the file(s) of a diffusers/transformers component folder.
 */
public final class SafetensorsWeights implements WeightSource {
    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
    private final Map<String, String> storedName = new LinkedHashMap<>();
    private final String description;

    private SafetensorsWeights(List<Path> paths, UnaryOperator<String> rename, SafetensorsIndex index) {
        if (paths.isEmpty()) throw new IllegalArgumentException("no safetensors files given");
        this.description = index != null ? index.file() + " (" + paths.size() + " shards)"
                : paths.size() == 1 ? paths.get(0).toString() : paths.size() + " shards in " + paths.get(0).getParent();
        try {
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                files.add(f);
                if (index != null) checkShard(index, p, f);
                for (String k : f.names()) {
                    String name = rename.apply(k);
                    SafetensorsFile before = fileOf.put(name, f);
                    if (before != null) {
                        throw new SafetensorsException(p, k, "the name " + (name.equals(k) ? "" : "'" + name + "' (renamed) ")
                                + "also occurs in " + before.path());
                    }
                    storedName.put(name, k);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public static SafetensorsWeights open(Path file) { return new SafetensorsWeights(List.of(file), UnaryOperator.identity(), null); }

    public static SafetensorsWeights open(List<Path> files, UnaryOperator<String> rename) {
        return new SafetensorsWeights(files, rename, null);
    }

    /** All shards of a sharded checkpoint, checked against its {@code *.safetensors.index*.json}. */
    public static SafetensorsWeights openIndex(Path indexFile) { return openIndex(indexFile, UnaryOperator.identity()); }

    public static SafetensorsWeights openIndex(Path indexFile, UnaryOperator<String> rename) {
        SafetensorsIndex index = SafetensorsIndex.read(indexFile);
        return new SafetensorsWeights(index.shardPaths(), rename, index);
    }

    /** Every tensor the index puts in this shard is there, and the shard holds nothing the index does not put there. */
    private static void checkShard(SafetensorsIndex index, Path p, SafetensorsFile f) {
        String shard = p.getFileName().toString();
        for (String k : index.keysOf(shard)) {
            if (!f.contains(k)) throw new SafetensorsException(p, k, "listed in " + index.file() + " but not in this shard");
        }
        for (String k : f.names()) {
            String listed = index.weightMap().get(k);
            if (!shard.equals(listed)) {
                throw new SafetensorsException(p, k, listed == null ? "in this shard but not listed in " + index.file()
                        : "in this shard but " + index.file() + " puts it in " + listed);
            }
        }
    }

    @Override public Set<String> keys() { return Collections.unmodifiableSet(fileOf.keySet()); }

    @Override
    public int[] shape(String key) { return file(key).info(storedName.get(key)).shape(); }

    @Override
    public Tensor tensor(String key) { return file(key).tensor(storedName.get(key)); }

    @Override
    public String origin(String key) {
        SafetensorsFile f = fileOf.get(key);
        return f == null ? description : f.path().toString();
    }

    private SafetensorsFile file(String key) {
        SafetensorsFile f = fileOf.get(key);
        if (f == null) throw new IllegalArgumentException("no weight '" + key + "' in " + description);
        return f;
    }

    @Override
    public void close() { files.forEach(SafetensorsFile::close); }
}
