package io.jdiffusion.pipelines;

import java.util.Map;

/**
 * The entries of the {@code parameters} text that AUTOMATIC1111's web UI reads back
 * ({@code parse_generation_parameters}): its sampler names and schedule type, its model keys, and the
 * refiner keys it enables the refiner by.
 *
 * <ul>
 *   <li>{@code Sampler}: {@code Euler}, {@code Euler a}, {@code DDIM}, {@code DPM++ 2M}; DPM++ 2M with Karras
 *       sigmas adds {@code Schedule type: Karras} (A1111 ≥ 1.9 keeps the schedule apart from the sampler).
 *       PNDM has no A1111 sampler of the same numbers and keeps its diffusers name.</li>
 *   <li>{@code Model}: the base model's name (the last part of its path or id, without {@code .safetensors});
 *       {@code Model hash}: the first 10 hex digits of the SHA-256 of its weight file — A1111's own hash for a
 *       single-file checkpoint; for a diffusers folder, of the UNet's weight file.</li>
 *   <li>{@code Refiner} (only with a refiner: A1111 turns its refiner on only when the key exists):
 *       {@code name [hash]} as A1111 titles checkpoints; {@code Refiner switch at}: the high-noise fraction.</li>
 *   <li>{@code Steps}: the steps of the whole schedule, as A1111 counts them (img2img's strength and the
 *       refiner's share are not subtracted: A1111 writes the slider's value and derives the rest).</li>
 * </ul>
 */
final class A1111Infotext {
    private A1111Infotext() {}

    /** Puts {@code Sampler} (and {@code Schedule type} when Karras) for a short name or a diffusers class name. */
    static void sampler(String scheduler, Map<String, Object> p) {
        String s = scheduler == null ? "euler" : scheduler;
        switch (s) {
            case "euler", "EulerDiscreteScheduler" -> p.put("Sampler", "Euler");
            case "euler_a", "EulerAncestralDiscreteScheduler" -> p.put("Sampler", "Euler a");
            case "ddim", "DDIMScheduler" -> p.put("Sampler", "DDIM");
            case "dpmpp_2m", "DPMSolverMultistepScheduler" -> p.put("Sampler", "DPM++ 2M");
            case "dpmpp_2m_karras" -> {
                p.put("Sampler", "DPM++ 2M");
                p.put("Schedule type", "Karras");
            }
            default -> p.put("Sampler", s);
        }
    }

    /** Puts {@code Model} and {@code Model hash} of the base. */
    static void model(Map<String, String> models, Map<String, String> weightHashes, Map<String, Object> p) {
        String base = models == null ? null : models.get("base");
        if (base == null) return;
        p.put("Model hash", shortHash("base", weightHashes));
        p.put("Model", name(base));
    }

    /** Puts {@code Refiner} and {@code Refiner switch at} when the record names a refiner. */
    static void refiner(Map<String, String> models, Map<String, String> weightHashes, Double highNoiseFraction, Map<String, Object> p) {
        String refiner = models == null ? null : models.get("refiner");
        if (refiner == null) return;
        String hash = shortHash("refiner", weightHashes);
        p.put("Refiner", name(refiner) + (hash == null ? "" : " [" + hash + "]"));
        p.put("Refiner switch at", highNoiseFraction);
    }

    /** A model's name: the last part of a path or Hugging Face id, without a .safetensors extension. */
    static String name(String model) {
        String n = model.replace('\\', '/');
        while (n.endsWith("/")) n = n.substring(0, n.length() - 1);
        n = n.substring(n.lastIndexOf('/') + 1);
        return n.endsWith(".safetensors") ? n.substring(0, n.length() - ".safetensors".length()) : n;
    }

    /**
     * The first 10 hex digits of a role's checkpoint hash: its single file, else its UNet weight file.
     * The record's hashes are keyed "role/file"; a record from before the role prefix is searched unprefixed.
     */
    static String shortHash(String role, Map<String, String> weightHashes) {
        if (weightHashes == null) return null;
        String unet = null, single = null;
        for (Map.Entry<String, String> e : weightHashes.entrySet()) {
            String k = e.getKey().startsWith(role + "/") ? e.getKey().substring(role.length() + 1) : e.getKey();
            if (e.getKey().contains("/") && !e.getKey().startsWith(role + "/") && !e.getKey().startsWith("unet")) continue;
            if (k.startsWith("unet/") && k.endsWith(".safetensors") && unet == null) unet = e.getValue();
            else if (!k.contains("/") && k.endsWith(".safetensors")) single = e.getValue();
        }
        String h = single != null ? single : unet;
        return h == null || h.length() < 10 || !h.matches("[0-9a-f]+") ? null : h.substring(0, 10);
    }
}
