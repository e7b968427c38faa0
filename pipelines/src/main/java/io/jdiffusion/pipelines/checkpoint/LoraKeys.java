package io.jdiffusion.pipelines.checkpoint;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The one place where LoRA tensor names meet the model's weight names (beside {@link OriginalKeys},
 * the single-file mapping). Two layouts are read:
 * <ul>
 *   <li>diffusers/PEFT: {@code unet.<module>.lora_A.weight} / {@code .lora_B.weight}, likewise
 *       {@code text_encoder.} and {@code text_encoder_2.}; an optional {@code <prefix>.<module>.alpha};
 *       a file without a component prefix is a UNet LoRA (as diffusers reads it);</li>
 *   <li>kohya/AUTOMATIC1111: {@code lora_unet_<module_with_underscores>.lora_down.weight} /
 *       {@code .lora_up.weight} / {@code .alpha}, {@code lora_te1_}, {@code lora_te2_}; UNet modules
 *       named the diffusers way ({@code down_blocks_1_attentions_0_…}) or the original SGM way
 *       ({@code input_blocks_4_1_…}, what SDXL kohya trainers write).</li>
 * </ul>
 * Module names of the text encoders are compared without transformers 4's {@code text_model.}
 * prefix, which files have or lack independently of the model folder.
 */
public final class LoraKeys {
    private LoraKeys() {}

    /** What a LoRA tensor is: the down (A) or up (B) factor, or the alpha scalar. */
    public enum Role { DOWN, UP, ALPHA }

    /** A LoRA tensor name taken apart: component, module name (dotted for PEFT, underscored for kohya), role. */
    public record Parsed(Component component, String module, Role role, boolean kohya) {}

    /** Kohya prefixes of SD 1.x/2.x files (one text encoder): an adapter for another model family. */
    public static boolean otherFamily(String key) { return key.startsWith("lora_te_"); }

    /** The parts of a LoRA tensor name, or null when it is none of the layouts above. */
    public static Parsed parse(String key) {
        if (key.startsWith("lora_")) {
            Component c = key.startsWith("lora_unet_") ? Component.UNET : key.startsWith("lora_te1_") ? Component.TEXT_ENCODER
                    : key.startsWith("lora_te2_") ? Component.TEXT_ENCODER_2 : null;
            if (c == null) return null;
            String rest = key.substring(key.indexOf('_', "lora_".length()) + 1);
            int dot = rest.indexOf('.');
            if (dot < 0) return null;
            String module = rest.substring(0, dot), suffix = rest.substring(dot + 1);
            Role role = switch (suffix) {
                case "lora_down.weight" -> Role.DOWN;
                case "lora_up.weight" -> Role.UP;
                case "alpha" -> Role.ALPHA;
                default -> null;
            };
            return role == null ? null : new Parsed(c, module, role, true);
        }
        Component c = Component.UNET;
        String rest = key;
        for (Component k : new Component[] {Component.TEXT_ENCODER_2, Component.TEXT_ENCODER, Component.UNET}) {
            String prefix = k.folder() + ".";
            if (key.startsWith(prefix)) {
                c = k;
                rest = key.substring(prefix.length());
                break;
            }
        }
        for (Role role : Role.values()) {
            String suffix = switch (role) {
                case DOWN -> ".lora_A.weight";
                case UP -> ".lora_B.weight";
                case ALPHA -> ".alpha";
            };
            if (rest.endsWith(suffix)) return new Parsed(c, rest.substring(0, rest.length() - suffix.length()), role, false);
        }
        return null;
    }

    /**
     * The modules of one component of the model: LoRA module names (both layouts) → the weight key
     * they adapt. Built from the component's own weight keys, so it holds whatever the model's shape.
     */
    public static final class ModuleIndex {
        private final Map<String, String> dotted = new HashMap<>(), underscored = new HashMap<>();

        /**
         * @param weightKeys the component's weight keys (diffusers names)
         * @param unetBlockStride for the UNet, layers_per_block + 1 (to name modules the SGM way); else 0
         */
        public ModuleIndex(Component c, Set<String> weightKeys, int unetBlockStride) {
            for (String key : weightKeys) {
                if (!key.endsWith(".weight")) continue;
                String module = normal(key.substring(0, key.length() - ".weight".length()));
                dotted.put(module, key);
                underscored.put(module.replace('.', '_'), key);
                if (c == Component.UNET && unetBlockStride > 0) {
                    try {
                        String sgm = OriginalKeys.toOriginal(c, key, weightKeys, unetBlockStride, 0).originalKey();
                        if (sgm.endsWith(".weight")) underscored.putIfAbsent(sgm.substring(0, sgm.length() - 7).replace('.', '_'), key);
                    } catch (RuntimeException notMapped) {
                        // a key without an original name adds no SGM alias
                    }
                }
            }
        }

        /** The weight key a LoRA module adapts, or null when the model has no such module. */
        public String weightKey(Parsed p) {
            String m = normal(p.module());
            return p.kohya() ? underscored.get(p.module().startsWith("text_model_") ? p.module().substring(11) : p.module())
                    : dotted.get(m);
        }

        private static String normal(String module) {
            return module.startsWith("text_model.") ? module.substring("text_model.".length()) : module;
        }
    }
}
