package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationRecord;
import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The {@link InpaintMetrics} of a run being recorded, from the input files it keeps; never fails the recording. */
final class RunMetrics {
    private RunMetrics() {}

    /** The measures for an inpainting run with its image and mask on file; null otherwise or when they do not apply. */
    static Map<String, Double> measure(GenerationRecord g, Map<String, Path> inputs, List<Image> outputs) {
        if (!"inpaint".equals(g.pipeline()) || outputs.isEmpty() || inputs.get("image") == null || inputs.get("mask") == null) return null;
        try {
            Map<String, Double> m = InpaintMetrics.of(ImageFiles.read(inputs.get("image")), ImageFiles.read(inputs.get("mask")), outputs);
            return m.isEmpty() ? null : m;
        } catch (RuntimeException e) {
            return null; // an input the pipeline read but the measure cannot: the run is still worth keeping
        }
    }
}
