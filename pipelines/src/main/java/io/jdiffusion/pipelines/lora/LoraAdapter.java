package io.jdiffusion.pipelines.lora;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.pipelines.checkpoint.Component;
import io.jdiffusion.pipelines.checkpoint.LoraKeys;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.safetensors.SafetensorsException;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One LoRA file, read into memory (adapters are small): its layers per component, keyed by the module
 * name as the file spells it (see {@link LoraKeys}), and the file's SHA-256 (recorded with the scale so
 * that a run can be reproduced and shown in the A1111 {@code Lora hashes}).
 */
public final class LoraAdapter {
    /** One adapted module: down (A, [r, in(, kh, kw)]) and up (B, [out, r(, 1, 1)]) factors, alpha (null: = rank). */
    public record Layer(LoraKeys.Parsed name, String downKey, Tensor down, String upKey, Tensor up, Float alpha) {
        public int rank() { return down.dim(0); }

        /** alpha / rank, the factor the file's own convention puts on B·A. */
        public double alphaScale() { return alpha == null ? 1.0 : alpha / rank(); }
    }

    private final Path path;
    private final String sha256;
    private final Map<Component, List<Layer>> layers;
    private final List<String> unrecognised;

    private LoraAdapter(Path path, String sha256, Map<Component, List<Layer>> layers, List<String> unrecognised) {
        this.path = path;
        this.sha256 = sha256;
        this.layers = layers;
        this.unrecognised = unrecognised;
    }

    public Path path() { return path; }

    /** The file name without .safetensors: the adapter's name in A1111's {@code <lora:name:scale>}. */
    public String name() {
        String f = path.getFileName().toString();
        return f.endsWith(".safetensors") ? f.substring(0, f.length() - ".safetensors".length()) : f;
    }

    /** SHA-256 of the whole file, hex. */
    public String sha256() { return sha256; }

    /** The layers adapting {@code c}'s weights (empty when the file has none for it). */
    public List<Layer> layers(Component c) { return layers.getOrDefault(c, List.of()); }

    /** Tensor names that are no LoRA factor of either layout (or a factor without its partner). */
    public List<String> unrecognised() { return unrecognised; }

    /** Reads a LoRA safetensors file; bad files are reported naming the file and what is wrong. */
    public static LoraAdapter read(Path file) {
        if (!Files.isRegularFile(file)) throw new IllegalArgumentException("LoRA file " + file + " does not exist");
        if (!file.getFileName().toString().endsWith(".safetensors")) {
            throw new IllegalArgumentException("LoRA file " + file + ": only .safetensors LoRA files are read");
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            List<String> other = f.names().stream().filter(LoraKeys::otherFamily).limit(3).toList();
            if (!other.isEmpty()) {
                throw new IllegalArgumentException("LoRA file " + file + " is for a Stable Diffusion 1.x/2.x model (one text encoder: "
                        + other + "), not SDXL");
            }
            Map<String, Float> peftAlpha = peftAlphas(f);
            Map<String, Map<LoraKeys.Role, String>> byModule = new LinkedHashMap<>();
            Map<String, LoraKeys.Parsed> parsed = new LinkedHashMap<>();
            List<String> unrecognised = new ArrayList<>();
            for (String key : f.names()) {
                LoraKeys.Parsed p = LoraKeys.parse(key);
                if (p == null) {
                    unrecognised.add(key);
                    continue;
                }
                String id = p.component() + " " + p.module();
                byModule.computeIfAbsent(id, k -> new EnumMap<>(LoraKeys.Role.class)).put(p.role(), key);
                parsed.putIfAbsent(id, p);
            }
            Map<Component, List<Layer>> layers = new EnumMap<>(Component.class);
            for (var e : byModule.entrySet()) {
                Map<LoraKeys.Role, String> roles = e.getValue();
                String down = roles.get(LoraKeys.Role.DOWN), up = roles.get(LoraKeys.Role.UP);
                if (down == null || up == null) {
                    unrecognised.addAll(roles.values());
                    continue;
                }
                LoraKeys.Parsed p = parsed.get(e.getKey());
                String alphaKey = roles.get(LoraKeys.Role.ALPHA);
                Float alpha = alphaKey != null ? Float.valueOf(f.floats(alphaKey)[0]) : peftAlpha.get(p.component().folder());
                Tensor d = f.tensor(down), u = f.tensor(up);
                Layer layer = new Layer(p, down, Tensor.of(d.toFloatArray(), d.shape()), up, Tensor.of(u.toFloatArray(), u.shape()), alpha);
                if (layer.down().rank() < 2 || layer.up().rank() < 2 || layer.up().dim(1) != layer.rank()) {
                    throw new IllegalArgumentException("LoRA file " + file + ": '" + down + "' " + java.util.Arrays.toString(d.shape())
                            + " and '" + up + "' " + java.util.Arrays.toString(u.shape()) + " are not the factors of one rank-r update");
                }
                layers.computeIfAbsent(p.component(), c -> new ArrayList<>()).add(layer);
            }
            if (layers.isEmpty()) {
                throw new IllegalArgumentException("LoRA file " + file + " has no LoRA layers of a known layout (diffusers/PEFT lora_A/lora_B"
                        + " or kohya lora_down/lora_up); first names: " + f.names().stream().limit(5).toList());
            }
            layers.replaceAll((c, l) -> List.copyOf(l));
            return new LoraAdapter(file, sha256(file), Collections.unmodifiableMap(layers), List.copyOf(unrecognised));
        } catch (SafetensorsException e) {
            throw new IllegalArgumentException("LoRA file " + file + " is not a readable safetensors file: " + e.getMessage());
        }
    }

    /**
     * The alphas diffusers records in the file's metadata ({@code lora_adapter_metadata}: a JSON object
     * with {@code <component>.lora_alpha}); per component folder name. Without them alpha = rank.
     */
    private static Map<String, Float> peftAlphas(SafetensorsFile f) {
        Map<String, Float> out = new LinkedHashMap<>();
        String json = f.metadata().get("lora_adapter_metadata");
        if (json == null) return out;
        try {
            JsonNode n = new ObjectMapper().readTree(json);
            for (Component c : Component.values()) {
                JsonNode a = n.get(c.folder() + ".lora_alpha");
                if (a != null && a.isNumber()) out.put(c.folder(), a.floatValue());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("LoRA file " + f.path() + ": its lora_adapter_metadata is not JSON: " + e.getMessage());
        }
        return out;
    }

    static String sha256(Path file) {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read LoRA file " + file, e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
