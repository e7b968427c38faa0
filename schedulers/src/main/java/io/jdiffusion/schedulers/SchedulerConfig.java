package io.jdiffusion.schedulers;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The keys of diffusers' {@code scheduler/scheduler_config.json} that the schedulers read.
 *
 * <p>Every field is nullable: {@code null} means "absent from the file", and each scheduler then
 * applies its own diffusers default (they differ: DDIM defaults to {@code clip_sample=true} and
 * {@code timestep_spacing="leading"}, the others to {@code "linspace"}). This mirrors diffusers'
 * {@code X.from_config(other.config)}, where keys another scheduler wrote are passed on and keys the
 * target does not know are ignored. Unknown keys are ignored here too.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SchedulerConfig(
        @JsonProperty("_class_name") String className,
        @JsonProperty("num_train_timesteps") Integer numTrainTimesteps,
        @JsonProperty("beta_start") Double betaStart,
        @JsonProperty("beta_end") Double betaEnd,
        @JsonProperty("beta_schedule") String betaSchedule,
        @JsonProperty("trained_betas") List<Double> trainedBetas,
        @JsonProperty("prediction_type") String predictionType,
        @JsonProperty("timestep_spacing") String timestepSpacing,
        @JsonProperty("steps_offset") Integer stepsOffset,
        @JsonProperty("rescale_betas_zero_snr") Boolean rescaleBetasZeroSnr,
        // Euler family
        @JsonProperty("interpolation_type") String interpolationType,
        @JsonProperty("use_karras_sigmas") Boolean useKarrasSigmas,
        @JsonProperty("use_exponential_sigmas") Boolean useExponentialSigmas,
        @JsonProperty("use_beta_sigmas") Boolean useBetaSigmas,
        @JsonProperty("use_lu_lambdas") Boolean useLuLambdas,
        @JsonProperty("sigma_min") Double sigmaMin,
        @JsonProperty("sigma_max") Double sigmaMax,
        @JsonProperty("rho") Double rho,
        @JsonProperty("timestep_type") String timestepType,
        @JsonProperty("final_sigmas_type") String finalSigmasType,
        // DDIM
        @JsonProperty("clip_sample") Boolean clipSample,
        @JsonProperty("clip_sample_range") Double clipSampleRange,
        @JsonProperty("set_alpha_to_one") Boolean setAlphaToOne,
        @JsonProperty("thresholding") Boolean thresholding,
        // DPM-Solver
        @JsonProperty("solver_order") Integer solverOrder,
        @JsonProperty("algorithm_type") String algorithmType,
        @JsonProperty("solver_type") String solverType,
        @JsonProperty("lower_order_final") Boolean lowerOrderFinal,
        @JsonProperty("euler_at_final") Boolean eulerAtFinal,
        @JsonProperty("lambda_min_clipped") Double lambdaMinClipped,
        @JsonProperty("variance_type") String varianceType,
        // PNDM
        @JsonProperty("skip_prk_steps") Boolean skipPrkSteps) {

    /** Python's json module writes -inf/NaN bare (lambda_min_clipped defaults to -inf), so accept them. */
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
            .build();

    /** Parses {@code scheduler_config.json} (or any JSON object with its keys). */
    public static SchedulerConfig read(Path file) {
        try {
            return parse(JSON.readTree(Files.readString(file)));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read scheduler config " + file, e);
        }
    }

    /** Reads {@code <dir>/scheduler_config.json}; pass a model folder's {@code scheduler/} folder. */
    public static SchedulerConfig readDir(Path schedulerDir) {
        return read(schedulerDir.resolve("scheduler_config.json"));
    }

    public static SchedulerConfig parse(String json) {
        try {
            return parse(JSON.readTree(json));
        } catch (IOException e) {
            throw new IllegalArgumentException("scheduler config is not valid JSON: " + e.getMessage(), e);
        }
    }

    public static SchedulerConfig parse(JsonNode node) {
        if (node == null || !node.isObject()) {
            throw new IllegalArgumentException("scheduler config must be a JSON object, got " + node);
        }
        try {
            return JSON.treeToValue(node, SchedulerConfig.class);
        } catch (IOException e) {
            throw new IllegalArgumentException("scheduler config has a key of the wrong type: " + e.getMessage(), e);
        }
    }

    /** An empty config: every scheduler then uses its diffusers defaults. */
    public static SchedulerConfig defaults() {
        return parse(JSON.createObjectNode());
    }

    /**
     * A copy with some keys replaced, named as in the JSON (e.g. {@code "use_karras_sigmas"}), like
     * diffusers' {@code from_config(config, use_karras_sigmas=True)}. A {@code null} value removes the key.
     */
    public SchedulerConfig with(Map<String, ?> overrides) {
        ObjectNode n = JSON.valueToTree(this);
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            if (!KNOWN_KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException("unknown scheduler config key '" + e.getKey() + "'; known keys: " + KNOWN_KEYS);
            }
            if (e.getValue() == null) n.remove(e.getKey());
            else n.set(e.getKey(), JSON.valueToTree(e.getValue()));
        }
        return parse(n);
    }

    /** {@link #with(Map)} for one key. */
    public SchedulerConfig with(String key, Object value) {
        return with(java.util.Collections.singletonMap(key, value));
    }

    private static final Set<String> KNOWN_KEYS = Set.of("_class_name", "num_train_timesteps", "beta_start", "beta_end",
            "beta_schedule", "trained_betas", "prediction_type", "timestep_spacing", "steps_offset",
            "rescale_betas_zero_snr", "interpolation_type", "use_karras_sigmas", "use_exponential_sigmas",
            "use_beta_sigmas", "use_lu_lambdas", "sigma_min", "sigma_max", "rho", "timestep_type",
            "final_sigmas_type", "clip_sample", "clip_sample_range", "set_alpha_to_one", "thresholding",
            "solver_order", "algorithm_type", "solver_type", "lower_order_final", "euler_at_final",
            "lambda_min_clipped", "variance_type", "skip_prk_steps");

    // ---- resolution helpers used by the schedulers ----

    static <T> T or(T value, T dflt) {
        return value != null ? value : dflt;
    }

    /** Checks that {@code value} is one of {@code allowed}; the message names the config key. */
    static String oneOf(String key, String value, String... allowed) {
        for (String a : allowed) if (a.equals(value)) return value;
        throw new IllegalArgumentException(key + " '" + value + "' is not supported; allowed values: " + String.join(", ", allowed));
    }
}
