package io.jdiffusion.runs;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.jdiffusion.pipelines.GenerationRecord;

import java.util.List;
import java.util.Map;

/**
 * One recorded generation as stored in {@code runs/<id>/run.json}: who asked for it (experiment,
 * tags, sweep cell), the nested hyperparameters, the prompts, copies of its inputs and outputs,
 * per-step timings, the machine it ran on, and the {@link GenerationRecord} that reproduces it.
 *
 * @param format      layout version of this file ({@link RunStore#FORMAT})
 * @param params      nested hyperparameters (see {@link RunParams#of}); {@link #flatParams()} flattens them
 * @param generation  the record written into the output PNGs; {@code reproduce} rebuilds the pipeline from it
 * @param inputs      role ("image", "mask") → the copy kept in the store
 * @param weightHashes per model role: "base/unet/diffusion_pytorch_model.safetensors" → SHA-256 (16 hex digits)
 * @param sweep       for a sweep cell: the sweep's id and the value of each axis; null otherwise
 * @param metrics     inpainting measures against the original ({@link InpaintMetrics}); null when not measured
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunRecord(int format, String id, String experiment, List<String> tags, String created,
                        Map<String, Object> params, Map<String, String> prompts, GenerationRecord generation,
                        Map<String, StoredInput> inputs, List<StoredOutput> outputs, StepTimings.Summary timings,
                        Map<String, String> environment, Map<String, String> weightHashes, SweepCell sweep,
                        Map<String, Double> metrics) {

    /** An input copied into the store: where it came from, the copy (relative to the run folder) and its hashes. */
    public record StoredInput(String original, String file, String sha256, String pixelSha256) {}

    /** An output PNG in the store (relative to the run folder), its SHA-256 and size. */
    public record StoredOutput(String file, String sha256, int width, int height) {}

    /**
     * Which sweep (or batch) made this run, the axis values of its cell (axis → value as text), and the
     * cell's key ({@link Sweep#key}: settings and input hashes) that a resumed batch skips; null in older records.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SweepCell(String id, Map<String, String> cell, String key) {
        public SweepCell(String id, Map<String, String> cell) { this(id, cell, null); }
    }

    /** The hyperparameters as dotted keys ("base.guidance" → "7.5"), in their nested order. */
    public Map<String, String> flatParams() { return RunParams.flatten(params); }
}
