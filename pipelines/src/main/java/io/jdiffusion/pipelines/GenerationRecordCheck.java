package io.jdiffusion.pipelines;

import java.util.List;
import java.util.Map;

/**
 * Checks a {@link GenerationRecord} read from a file (a PNG's text chunk, a run record) before
 * anything uses it: JSON that decodes can still hold nulls where a value is required, or sizes
 * far beyond what a run can allocate. Problems are reported as one {@link IllegalArgumentException}
 * naming the field, instead of a NullPointerException or an OutOfMemoryError later on.
 */
public final class GenerationRecordCheck {
    private GenerationRecordCheck() {}

    private static final List<String> PIPELINES = List.of("txt2img", "img2img", "inpaint", "outpaint");
    private static final List<String> FAMILIES = List.of(GenerationRecord.FAMILY_SDXL, SdModel.FAMILY_SD1, SdModel.FAMILY_SD2);

    /** Throws IllegalArgumentException naming the first bad field. */
    public static GenerationRecord check(GenerationRecord g) {
        if (g == null) throw new IllegalArgumentException("the generation record is empty (null)");
        if (g.pipeline() == null || !PIPELINES.contains(g.pipeline())) {
            throw new IllegalArgumentException("generation record: pipeline must be one of " + String.join(", ", PIPELINES)
                    + ", got " + quoted(g.pipeline()));
        }
        if (g.prompt() == null) throw new IllegalArgumentException("generation record: prompt is missing");
        if (g.family() != null && !FAMILIES.contains(g.family())) {
            throw new IllegalArgumentException("generation record: family must be one of " + String.join(", ", FAMILIES) + ", got " + quoted(g.family()));
        }
        noNulls("models", g.models());
        if (g.models() == null || !g.models().containsKey("base")) throw new IllegalArgumentException("generation record: models.base is missing");
        if (g.models().containsKey("refiner") && g.highNoiseFraction() == null) {
            throw new IllegalArgumentException("generation record: a refiner needs highNoiseFraction");
        }
        noNulls("configs", g.configs());
        noNulls("weightHashes", g.weightHashes());
        noNulls("inputs", g.inputs());
        if (g.inputs() != null) {
            for (Map.Entry<String, GenerationRecord.InputFile> e : g.inputs().entrySet()) {
                if (e.getValue().pixelSha256() == null) {
                    throw new IllegalArgumentException("generation record: inputs." + e.getKey() + ".pixelSha256 is missing");
                }
            }
        }
        if (!g.pipeline().equals("txt2img") && (g.inputs() == null || !g.inputs().containsKey("image"))) {
            throw new IllegalArgumentException("generation record: a " + g.pipeline() + " run needs inputs.image");
        }
        if ((g.maskDilateKernel() == null) != (g.maskDilateIterations() == null)) {
            throw new IllegalArgumentException("generation record: maskDilateKernel and maskDilateIterations go together");
        }
        if (g.aestheticScore() != null && g.negativeAestheticScore() == null) {
            throw new IllegalArgumentException("generation record: aestheticScore needs negativeAestheticScore");
        }
        field("steps", () -> Limits.steps(g.steps()));
        field("imagesPerPrompt", () -> Limits.imagesPerPrompt(g.imagesPerPrompt()));
        field("width", () -> Limits.side("width", g.width(), null));
        field("height", () -> Limits.side("height", g.height(), null));
        if (g.maskDilateKernel() != null) field("maskDilate", () -> Limits.dilate(g.maskDilateKernel(), g.maskDilateIterations()));
        GenerationRecord.Outpaint o = g.outpaint();
        if (o != null) field("outpaint", () -> Limits.outpaint(o.left(), o.top(), o.right(), o.bottom(), o.overlap()));
        return g;
    }

    private static void noNulls(String name, Map<String, ?> m) {
        if (m == null) return;
        for (Map.Entry<String, ?> e : m.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("generation record: " + name + " has a null entry (" + quoted(e.getKey()) + ")");
            }
        }
    }

    private static void field(String name, Runnable check) {
        try {
            check.run();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("generation record: " + name + ": " + e.getMessage(), e);
        }
    }

    private static String quoted(String s) { return s == null ? "null" : "'" + s + "'"; }
}
