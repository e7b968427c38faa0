package io.jdiffusion.cli;

import io.jdiffusion.runs.Sweep;
import picocli.CommandLine.Option;

import java.util.List;

/** The grid of a sweep, and the one a batch crosses every manifest row with: the axes and settings of {@link Sweep}. */
final class GridOptions {
    @Option(names = "--steps", defaultValue = "30", description = "Denoising steps of every cell (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--strength", paramLabel = "S", description = "img2img / inpainting strength in (0, 1] (default: 0.3 for img2img, 0.9999 for inpainting, like diffusers).")
    Double strength;

    @Option(names = "--refiner-fractions", split = ",", paramLabel = "F|off",
            description = "Refiner axis: 'off' or the base's share of the schedule (e.g. off,0.8; default: off).")
    List<String> refinerFractions;

    @Option(names = "--dilate", split = ",", paramLabel = "KxN|off", description = "Mask dilation axis (e.g. off,15x2; default: off).")
    List<String> dilations;

    @Option(names = {"-g", "--guidance"}, split = ",", paramLabel = "G", description = "Guidance scale axis (e.g. 5,7.5; default: 7.5 for inpainting, 5 otherwise).")
    List<Double> guidances;

    @Option(names = "--schedulers", split = ",", paramLabel = "NAME",
            description = "Scheduler axis: euler, euler_a, ddim, dpmpp_2m, dpmpp_2m_karras (default: the model's).")
    List<String> schedulers;

    /** Sets the grid on one sweep; IllegalArgumentException naming the option. */
    void apply(Sweep s) {
        CommonOptions.option("--steps", () -> s.steps(steps));
        if (strength != null) CommonOptions.option("--strength", () -> s.strength(strength));
        if (refinerFractions != null) s.refinerFractions(refinerFractions.stream().map(SweepCommand::fraction).toArray(Double[]::new));
        if (dilations != null) {
            CommonOptions.option("--dilate", () -> s.dilations(dilations.stream().map(Sweep.Dilation::parse).toArray(Sweep.Dilation[]::new)));
        }
        if (guidances != null) s.guidances(guidances.stream().mapToDouble(Double::doubleValue).toArray());
        if (schedulers != null) s.schedulers(schedulers.toArray(String[]::new));
    }
}
