package io.jdiffusion.tensor.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A sharded checkpoint's index ({@code model.safetensors.index.json},
 * {@code diffusion_pytorch_model.safetensors.index.fp16.json}, ...), as written by transformers
 * and diffusers: {@code {"metadata": {...}, "weight_map": {"tensor name": "shard file name"}}}.
 *
 * <p>Parsing only checks the index itself (an object of string values, shard names that are plain
 * file names in the index's folder, which exist); whether each shard really holds its tensors is
 * checked when the shards are opened ({@code SafetensorsWeights.openIndex}).
 */
public record SafetensorsIndex(Path file, Map<String, String> weightMap, Map<String, String> metadata) {
    /** Index files are small (the SDXL UNet's is ~200 KB); anything beyond this is refused. */
    public static final long MAX_INDEX_BYTES = 64L * 1024 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    public SafetensorsIndex {
        weightMap = Collections.unmodifiableMap(new LinkedHashMap<>(weightMap));
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    }

    /** Reads and validates an index file. */
    public static SafetensorsIndex read(Path file) {
        JsonNode root;
        try {
            long size = Files.size(file);
            if (size > MAX_INDEX_BYTES) throw new SafetensorsException(file, null, "index is " + size + " bytes (at most " + MAX_INDEX_BYTES + ")");
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(file, null, "index is not well-formed JSON: " + SafetensorsFile.abbreviate(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new SafetensorsException(file, null, "index cannot be read: " + e, e);
        }
        if (root == null || !root.isObject()) throw new SafetensorsException(file, null, "index is not a JSON object");
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject()) throw new SafetensorsException(file, null, "index has no \"weight_map\" object");
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            JsonNode v = e.getValue();
            if (!v.isTextual()) {
                throw new SafetensorsException(file, e.getKey(), "weight_map value is not a shard file name but " + SafetensorsFile.abbreviate(v.toString()));
            }
            String shard = v.asText();
            // untrusted: a shard must be a plain file next to the index, never a path elsewhere
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.equals(".") || shard.equals("..")
                    || shard.indexOf('\0') >= 0) {
                throw new SafetensorsException(file, e.getKey(), "shard name '" + SafetensorsFile.abbreviate(shard)
                        + "' is not a plain file name in the index's folder");
            }
            weightMap.put(e.getKey(), shard);
        }
        if (weightMap.isEmpty()) throw new SafetensorsException(file, null, "index has an empty weight_map");
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode md = root.get("metadata");
        if (md != null && md.isObject()) {
            for (Map.Entry<String, JsonNode> e : md.properties()) {
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
            }
        }
        SafetensorsIndex index = new SafetensorsIndex(file, weightMap, metadata);
        for (String shard : index.shardNames()) {
            Path p = index.shardPath(shard);
            if (!Files.isRegularFile(p)) {
                List<String> keys = index.keysOf(shard);
                throw new SafetensorsException(file, null, "shard file " + p + " is missing (it should hold " + keys.size()
                        + " tensors, e.g. '" + SafetensorsFile.abbreviate(keys.get(0)) + "')");
            }
        }
        return index;
    }

    /** Shard file names in order of first appearance. */
    public List<String> shardNames() { return List.copyOf(new LinkedHashSet<>(weightMap.values())); }

    public Path shardPath(String shardName) { return file.toAbsolutePath().getParent().resolve(shardName); }

    /** Shard files in order of first appearance. */
    public List<Path> shardPaths() {
        List<Path> out = new ArrayList<>();
        for (String s : shardNames()) out.add(shardPath(s));
        return out;
    }

    /** Tensor names the index puts in {@code shardName}. */
    public List<String> keysOf(String shardName) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) if (e.getValue().equals(shardName)) out.add(e.getKey());
        return out;
    }

    public Set<String> keys() { return weightMap.keySet(); }

    /**
     * Writes an index for tensors already written to shards: {@code keysByShard} maps each shard
     * file name to its tensor names; {@code totalSize} goes to metadata like transformers does.
     */
    public static void write(Path file, Map<String, List<String>> keysByShard, long totalSize) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("metadata", Map.of("total_size", totalSize));
        Map<String, String> wm = new java.util.TreeMap<>();
        for (Map.Entry<String, List<String>> e : keysByShard.entrySet()) {
            for (String k : e.getValue()) {
                if (wm.put(k, e.getKey()) != null) throw new IllegalArgumentException("tensor '" + k + "' listed in two shards");
            }
        }
        root.put("weight_map", wm);
        try {
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + file.getFileName() + ".", ".tmp");
            try {
                JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root);
                Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new SafetensorsException(file, null, "index cannot be written: " + e, e);
        }
    }
}
