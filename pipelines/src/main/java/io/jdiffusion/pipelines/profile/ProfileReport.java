package io.jdiffusion.pipelines.profile;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * What the shape-only run of a whole generation counted. Bytes are device tensor bytes (before the
 * caching allocator's rounding); per-step figures are of one classifier-free-guidance step (batch 2)
 * of the base UNet, and of the refiner's where there is one.
 *
 * @param peakDeviceBytes           the largest device memory in use at once, over the whole run
 * @param unlimitedPeakDeviceBytes  the same run without a budget (equal to peakDeviceBytes when there is none)
 * @param weightBytes               device bytes of every component's weights, each counted once
 * @param activationPeakBytes       the most bytes one base UNet step holds beyond what was in use when it started
 * @param weightBytesByComponent    weights per component
 * @param peakBytesByComponent      the peak in use while each component ran (its weights, what stayed resident, its activations)
 * @param kernelLaunchesPerStep     kernels (cuBLAS calls, memsets) one base step runs on the device
 * @param hostLaunchesPerStep       what the host queues for one base step when the UNet forward is a CUDA graph replay
 *                                  (the default on CUDA, every step after the first): the graph launch, the copies into
 *                                  its input buffers and out of its output, and the step's kernels outside the graph
 */
public record ProfileReport(ProfileRequest request, String backend, long peakDeviceBytes, long unlimitedPeakDeviceBytes,
                            long weightBytes, long activationPeakBytes, long kernelLaunchesPerStep, long gemmFlopsPerStep,
                            long hostToDeviceBytesPerStep, long deviceToHostBytesPerStep, long refinerActivationPeakBytes,
                            long refinerKernelLaunchesPerStep, long refinerGemmFlopsPerStep, long hostLaunchesPerStep,
                            long refinerHostLaunchesPerStep, long kernelLaunchesTotal,
                            long gemmFlopsTotal, long hostToDeviceBytesTotal, long hostToDeviceCopiesTotal,
                            long deviceToHostBytesTotal, long deviceToHostCopiesTotal, int componentLoads, int componentUnloads,
                            String vaeTiling, Map<String, Long> weightBytesByComponent, Map<String, Long> peakBytesByComponent,
                            double seconds) {

    /** One JSON object (numbers as integers, names as strings). */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", request.model());
        m.put("refiner", request.refiner());
        m.put("vae", request.vae() == null ? null : request.vae().toString());
        m.put("width", request.width());
        m.put("height", request.height());
        m.put("dtype", request.dtype().name().toLowerCase(Locale.ROOT));
        m.put("vramBytes", request.vramBytes());
        m.put("steps", request.steps());
        m.put("baseSteps", request.baseSteps());
        m.put("refinerSteps", request.refinerSteps());
        m.put("encodesImage", request.encodesImage());
        m.put("backend", backend);
        m.put("peakDeviceBytes", peakDeviceBytes);
        m.put("unlimitedPeakDeviceBytes", unlimitedPeakDeviceBytes);
        m.put("weightBytes", weightBytes);
        m.put("activationPeakBytes", activationPeakBytes);
        m.put("kernelLaunchesPerStep", kernelLaunchesPerStep);
        m.put("hostLaunchesPerStep", hostLaunchesPerStep);
        m.put("gemmFlopsPerStep", gemmFlopsPerStep);
        m.put("hostToDeviceBytesPerStep", hostToDeviceBytesPerStep);
        m.put("deviceToHostBytesPerStep", deviceToHostBytesPerStep);
        m.put("refinerActivationPeakBytes", refinerActivationPeakBytes);
        m.put("refinerKernelLaunchesPerStep", refinerKernelLaunchesPerStep);
        m.put("refinerGemmFlopsPerStep", refinerGemmFlopsPerStep);
        m.put("refinerHostLaunchesPerStep", refinerHostLaunchesPerStep);
        m.put("kernelLaunchesTotal", kernelLaunchesTotal);
        m.put("gemmFlopsTotal", gemmFlopsTotal);
        m.put("hostToDeviceBytesTotal", hostToDeviceBytesTotal);
        m.put("hostToDeviceCopiesTotal", hostToDeviceCopiesTotal);
        m.put("deviceToHostBytesTotal", deviceToHostBytesTotal);
        m.put("deviceToHostCopiesTotal", deviceToHostCopiesTotal);
        m.put("componentLoads", componentLoads);
        m.put("componentUnloads", componentUnloads);
        m.put("vaeTiling", vaeTiling);
        m.put("weightBytesByComponent", weightBytesByComponent);
        m.put("peakBytesByComponent", peakBytesByComponent);
        m.put("seconds", Math.round(seconds * 1000) / 1000.0);
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the profile as JSON", e);
        }
    }

    /** A readable table. */
    public String toTable() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "profile of %s%s at %dx%d, %s, %s, %d steps (shape-only run: nothing computed, %.1f s)%n",
                request.model(), request.refiner() == null ? "" : " → " + request.refiner(), request.width(), request.height(),
                request.dtype().name().toLowerCase(Locale.ROOT), request.vramBytes() > 0 ? "budget " + gib(request.vramBytes()) : "no budget",
                request.steps(), seconds));
        if (request.vae() != null) row(b, "VAE folder (--vae)", request.vae().toString());
        row(b, "peak device memory", gib(peakDeviceBytes));
        if (request.vramBytes() > 0) row(b, "peak without a budget", gib(unlimitedPeakDeviceBytes));
        row(b, "weights (all components)", gib(weightBytes));
        row(b, "activations, one base step", gib(activationPeakBytes));
        row(b, "kernel launches per base step", Long.toString(kernelLaunchesPerStep));
        row(b, "host launches per base step (CUDA graph)", Long.toString(hostLaunchesPerStep));
        row(b, "GEMM FLOPs per base step", String.format(Locale.ROOT, "%.2f TFLOP", gemmFlopsPerStep / 1e12));
        row(b, "host→device per base step", mib(hostToDeviceBytesPerStep));
        row(b, "device→host per base step", mib(deviceToHostBytesPerStep));
        if (request.refiner() != null) {
            row(b, "activations, one refiner step", gib(refinerActivationPeakBytes));
            row(b, "kernel launches per refiner step", Long.toString(refinerKernelLaunchesPerStep));
            row(b, "host launches per refiner step (CUDA graph)", Long.toString(refinerHostLaunchesPerStep));
            row(b, "GEMM FLOPs per refiner step", String.format(Locale.ROOT, "%.2f TFLOP", refinerGemmFlopsPerStep / 1e12));
        }
        row(b, "kernel launches, whole run", Long.toString(kernelLaunchesTotal));
        row(b, "GEMM FLOPs, whole run", String.format(Locale.ROOT, "%.1f TFLOP", gemmFlopsTotal / 1e12));
        row(b, "host→device, whole run", String.format(Locale.ROOT, "%s in %d copies", gib(hostToDeviceBytesTotal), hostToDeviceCopiesTotal));
        row(b, "device→host, whole run", String.format(Locale.ROOT, "%s in %d copies", mib(deviceToHostBytesTotal), deviceToHostCopiesTotal));
        row(b, "component loads / unloads", componentLoads + " / " + componentUnloads);
        if (vaeTiling != null) row(b, "VAE", vaeTiling);
        b.append(String.format(Locale.ROOT, "%n  %-44s %12s%n", "weights (device copies)", ""));
        weightBytesByComponent.forEach((c, w) -> row(b, c, gib(w)));
        b.append(String.format(Locale.ROOT, "%n  %-44s%n", "peak in use while each part ran"));
        peakBytesByComponent.forEach((c, p) -> row(b, c, gib(p)));
        return b.toString();
    }

    private static void row(StringBuilder b, String name, String value) { b.append(String.format(Locale.ROOT, "  %-44s %s%n", name, value)); }

    static String gib(long bytes) { return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30)); }

    static String mib(long bytes) { return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20)); }
}
