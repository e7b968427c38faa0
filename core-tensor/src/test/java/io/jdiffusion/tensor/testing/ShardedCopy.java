package io.jdiffusion.tensor.testing;

import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.SafetensorsIndex;
import io.jdiffusion.tensor.safetensors.SafetensorsWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Splits one safetensors file into shards plus an index, named as diffusers' save_pretrained names them. */
public final class ShardedCopy {
    private ShardedCopy() {}

    /**
     * Writes {@code <base>[.<variant>]-0000i-of-0000n.safetensors} (tensors dealt round-robin) and
     * {@code <base>.safetensors.index[.<variant>].json} into {@code folder}; returns the index file.
     */
    public static Path write(Path single, Path folder, String base, String variant, int shards) {
        String v = variant == null ? "" : "." + variant;
        Map<String, List<String>> byShard = new LinkedHashMap<>();
        long total = 0;
        try (SafetensorsFile f = SafetensorsFile.open(single)) {
            List<String> names = f.names();
            for (int s = 0; s < shards; s++) {
                String shardName = String.format("%s%s-%05d-of-%05d.safetensors", base, v, s + 1, shards);
                SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
                List<String> keys = new ArrayList<>();
                for (int i = s; i < names.size(); i += shards) {
                    w.add(names.get(i), f.tensor(names.get(i)));
                    keys.add(names.get(i));
                    total += f.info(names.get(i)).byteLength();
                }
                w.write(folder.resolve(shardName));
                byShard.put(shardName, keys);
            }
        }
        Path index = folder.resolve(base + ".safetensors.index" + v + ".json");
        SafetensorsIndex.write(index, byShard, total);
        return index;
    }
}
