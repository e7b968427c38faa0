package io.jdiffusion.pipelines.profile;

import io.jdiffusion.tensor.DType;
import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The acceptance numbers of the GPU plan, from shape-only runs of the real full-size graph (the
 * official configs, {@link DeviceProfiler}): what a 1024² generation needs on a device.
 */
class DeviceProfilerTest {
    static final long GIB = 1L << 30;

    @Test
    void aBaseCfgStepAt1024InF16() {
        ProfileReport p = DeviceProfiler.run(new ProfileRequest("sdxl-base", null, 1024, 1024, DType.F16, 0, 2, 1.0, false));
        System.out.println(p.toJson());
        System.out.println(p.toTable());
        // 2,567,463,684 UNet parameters in 2 bytes (FullSizeSdxlTest checks the count), plus both text encoders and the VAE
        long unet = p.weightBytesByComponent().entrySet().stream().filter(e -> e.getKey().endsWith("UNet")).mapToLong(e -> e.getValue()).sum();
        assertEquals(2_567_463_684L * 2, unet, "base UNet weights in F16, converted once at load");
        // issue acceptance: activations of one CFG step (batch 2) at most 3 GiB beside the weights
        assertTrue(p.activationPeakBytes() <= 3 * GIB, "activation peak " + p.activationPeakBytes());
        assertTrue(p.activationPeakBytes() > 100L << 20, "a 1024² step holds activations: " + p.activationPeakBytes());
        // the published ≈ 13.5 TFLOP per CFG step (≈ 6.7 TFLOP per image per UNet forward), within 10 %
        assertEquals(13.5e12, p.gemmFlopsPerStep(), 1.35e12, "GEMM FLOPs per CFG step");
        assertTrue(p.peakDeviceBytes() >= p.weightBytes() - p.weightBytesByComponent().getOrDefault("random-sdxl-base-seed1 VAE", 0L));
    }

    @Test
    void an8GiBBudgetHoldsA1024BaseToRefinerInpaint() {
        ProfileReport p = DeviceProfiler.run(new ProfileRequest("sdxl-base", "sdxl-refiner", 1024, 1024, DType.F16, 8 * GIB, 70, 0.8, true));
        System.out.println(p.toJson());
        System.out.println(p.toTable());
        assertEquals(56, p.request().baseSteps());
        assertEquals(14, p.request().refinerSteps());
        assertTrue(p.peakDeviceBytes() <= 8 * GIB, "peak under --vram 8g: " + p.peakDeviceBytes());
        // without the budget everything stays resident: the plan had to unload to fit
        assertTrue(p.unlimitedPeakDeviceBytes() > 8 * GIB, "unlimited peak " + p.unlimitedPeakDeviceBytes());
        assertTrue(p.componentUnloads() > 0, "components took turns");
    }
}
