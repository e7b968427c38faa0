package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The model family of a diffusers folder, read from {@code model_index.json}'s {@code _class_name}
 * (the pipeline class diffusers would load it with): Stable Diffusion XL, or Stable Diffusion 1.x/2.x.
 */
public enum ModelFamily {
    SDXL(List.of("StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline", "StableDiffusionXLInpaintPipeline")),
    SD(List.of("StableDiffusionPipeline", "StableDiffusionImg2ImgPipeline", "StableDiffusionInpaintPipeline"));

    /** The settings only SDXL has, named in the refusals when an SD 1/2 model meets them. */
    public static final String SDXL_ONLY_SETTINGS = "refiner, aesthetic scores, original_size, prompt_2";

    private final List<String> classNames;

    ModelFamily(List<String> classNames) { this.classNames = classNames; }

    /**
     * The family of the diffusers folder {@code folder}; null when it has no model_index.json or the
     * file names no {@code _class_name} (then nothing says what it is).
     *
     * @throws IllegalArgumentException for a {@code _class_name} of another pipeline, naming the allowed ones
     */
    public static ModelFamily of(Path folder) {
        String cls = className(folder);
        if (cls == null) return null;
        for (ModelFamily f : values()) if (f.classNames.contains(cls)) return f;
        throw new IllegalArgumentException(folder.resolve("model_index.json") + ": _class_name '" + cls
                + "' is not a pipeline this engine runs; allowed: " + String.join(", ", SDXL.classNames) + ", " + String.join(", ", SD.classNames));
    }

    /**
     * The family of a model as the command line names it: a folder or a Hugging Face id in the local
     * cache (read from its model_index.json), or a single file (told by its keys); null for a folder
     * without model_index.json, a file that is no checkpoint, or a name that does not resolve
     * (opening it then says why).
     */
    public static ModelFamily ofModel(String nameOrPath) {
        Path p;
        try {
            p = ModelLocator.resolve(nameOrPath);
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (Files.isDirectory(p)) return of(p);
        if (!Files.isRegularFile(p)) return null;
        try (io.jdiffusion.pipelines.checkpoint.SingleFileCheckpoint c = io.jdiffusion.pipelines.checkpoint.SingleFileCheckpoint.open(p)) {
            return c.layout().sd() ? SD : SDXL;
        } catch (RuntimeException notACheckpoint) {
            return null;
        }
    }

    private static String className(Path folder) {
        Path index = folder.resolve("model_index.json");
        if (!Files.isRegularFile(index)) return null;
        try {
            JsonNode cls = new ObjectMapper().readTree(index.toFile()).get("_class_name");
            return cls == null || cls.isNull() ? null : cls.asText();
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + index, e);
        }
    }

    /** Refuses an SD 1/2 folder where an SDXL model is expected, saying what to use instead (other folders pass as before). */
    static void requireSdxl(Path folder) {
        String cls = className(folder);
        if (cls != null && SD.classNames.contains(cls)) {   // (List.of's contains throws on null)
            throw new IllegalArgumentException("model folder " + folder + " is a Stable Diffusion 1/2 model (model_index.json _class_name "
                    + "StableDiffusion*Pipeline), not SDXL: the SDXL pipelines and their SDXL-only settings (" + SDXL_ONLY_SETTINGS
                    + ") do not apply; load it with SdPipeline");
        }
    }
}
