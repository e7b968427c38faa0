package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;

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
 */
public final class SafetensorsWeights implements WeightSource {
    private final List<SafetensorsFile> files = new ArrayList<>();
    private final Map<String, SafetensorsFile> fileOf = new LinkedHashMap<>();
    private final Map<String, String> storedName = new LinkedHashMap<>();
    private final String description;

    private SafetensorsWeights(List<Path> paths, UnaryOperator<String> rename) {
        this.description = paths.size() == 1 ? paths.get(0).toString() : paths.size() + " shards in " + paths.get(0).getParent();
        try {
            for (Path p : paths) {
                SafetensorsFile f = SafetensorsFile.open(p);
                files.add(f);
                for (String k : f.names()) {
                    String name = rename.apply(k);
                    if (fileOf.put(name, f) != null) {
                        throw new IllegalArgumentException("key '" + name + "' occurs twice (" + p + ")");
                    }
                    storedName.put(name, k);
                }
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public static SafetensorsWeights open(Path file) { return new SafetensorsWeights(List.of(file), UnaryOperator.identity()); }

    public static SafetensorsWeights open(List<Path> files, UnaryOperator<String> rename) {
        return new SafetensorsWeights(files, rename);
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
