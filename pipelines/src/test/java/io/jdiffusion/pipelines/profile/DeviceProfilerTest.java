package io.jdiffusion.pipelines.profile;

import io.jdiffusion.pipelines.RandomSdxl;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.weights.RandomWeights;
import io.jdiffusion.vae.AutoencoderKL;
import io.jdiffusion.vae.VaeConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /**
     * With the UNet forward a CUDA graph (the default), the host queues per base step: the latents'
     * upload cast, one graph launch, a copy into each of the graph's 5 input buffers (sample, context,
     * time projection, pooled text embedding, time-id embedding) and one out of its output, while the
     * device still runs every kernel; with graphs off the host queues every kernel itself.
     */
    @Test
    void aGraphReplayIsAHandfulOfHostLaunchesPerStep() {
        ProfileRequest r = new ProfileRequest("sdxl-base", null, 1024, 1024, DType.F16, 0, 1, 1.0, false);
        ProfileReport graphs = DeviceProfiler.run(r);
        ProfileReport eager;
        System.setProperty("jdiffusion.cuda.graphs", "false");
        try {
            eager = DeviceProfiler.run(r);
        } finally {
            System.clearProperty("jdiffusion.cuda.graphs");
        }
        System.out.println("kernel launches per step " + graphs.kernelLaunchesPerStep() + ", host launches " + graphs.hostLaunchesPerStep()
                + " (graphs on), " + eager.hostLaunchesPerStep() + " (graphs off)");
        assertEquals(1 + 1 + 5 + 1, graphs.hostLaunchesPerStep(), "host launches per replayed base step");
        assertTrue(graphs.toJson().contains("\"hostLaunchesPerStep\":8"), graphs.toJson());
        assertEquals(eager.kernelLaunchesPerStep(), graphs.kernelLaunchesPerStep(), "the device runs the same kernels either way");
        assertEquals(eager.kernelLaunchesPerStep(), eager.hostLaunchesPerStep(), "without graphs the host queues every kernel");
        assertEquals(eager.gemmFlopsPerStep(), graphs.gemmFlopsPerStep());
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

    @TempDir
    static Path tmp;

    /**
     * A full-size VAE folder like madebyollin's sdxl-vae-fp16-fix: the official SDXL VAE config with
     * force_upcast false, F16 weights of the official shapes. The weights file is sparse (a header and
     * a length: the profiler maps it and never reads a value), so it costs no disk.
     */
    static Path fp16FixVae() throws IOException {
        Path dir = tmp.resolve("sdxl-vae-fp16-fix");
        if (Files.isDirectory(dir)) return dir;
        Files.createDirectories(dir);
        String cfg = Files.readString(RandomSdxl.configs(Layout.BASE).resolve("vae/config.json"))
                .replaceAll("\"force_upcast\"\\s*:\\s*true", "\"force_upcast\": false");
        Files.writeString(dir.resolve("config.json"), cfg);
        VaeConfig vc = VaeConfig.load(dir.resolve("config.json"));
        assertTrue(!vc.forceUpcast(), "the copy's config turns force_upcast off");
        Map<String, int[]> shapes = RandomWeights.shapesOf("vae", p -> new AutoencoderKL(vc, p));
        StringBuilder h = new StringBuilder("{");
        long at = 0;
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            long bytes = 2 * Shapes.numel(e.getValue());
            if (h.length() > 1) h.append(',');
            h.append('"').append(e.getKey()).append("\":{\"dtype\":\"F16\",\"shape\":").append(java.util.Arrays.toString(e.getValue()).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(at).append(',').append(at + bytes).append("]}");
            at += bytes;
        }
        h.append('}');
        while ((h.length() + 8) % 8 != 0) h.append(' ');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (RandomAccessFile f = new RandomAccessFile(dir.resolve("diffusion_pytorch_model.safetensors").toFile(), "rw")) {
            f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            f.write(header);
            f.setLength(8 + header.length + at);
        }
        return dir;
    }

    static long vaeWeights(ProfileReport p) {
        return p.weightBytesByComponent().entrySet().stream().filter(e -> e.getKey().endsWith("VAE")).mapToLong(Map.Entry::getValue).sum();
    }

    @Test
    void anFp16FixVaeRunsInTheDeviceDtypeWhereTheSdxlVaeIsUpcast() throws IOException {
        Path vae = fp16FixVae();
        long params = RandomWeights.shapesOf("vae", p -> new AutoencoderKL(RandomSdxl.vaeConfig(Layout.BASE), p)).values().stream()
                .mapToLong(Shapes::numel).sum();
        ProfileReport own = DeviceProfiler.run(new ProfileRequest("sdxl-base", null, 1024, 1024, DType.F16, 0, 1, 1.0, false));
        ProfileReport fixed = DeviceProfiler.run(new ProfileRequest("sdxl-base", null, 1024, 1024, DType.F16, 0, 1, 1.0, false, vae));
        System.out.println(fixed.toTable());
        // force_upcast: the SDXL VAE's weights in F32 beside an F16 UNet; the fixed VAE's in F16
        assertEquals(4 * params, vaeWeights(own), "the SDXL VAE's weights in F32");
        assertEquals(2 * params, vaeWeights(fixed), "the fp16-fix VAE's weights in F16");
        assertEquals(own.weightBytes() - 2 * params, fixed.weightBytes());
        // its activations are F16 as well: the decode's peak drops by more than the weights' half
        long ownDecode = own.peakBytesByComponent().get("VAE decode"), fixedDecode = fixed.peakBytesByComponent().get("VAE decode");
        assertTrue(ownDecode - fixedDecode > 2 * params, "VAE decode peak " + ownDecode + " → " + fixedDecode);
        assertTrue(fixed.toJson().contains("\"vae\":\"" + vae.toString().replace("\\", "\\\\") + "\""), fixed.toJson());
        // the UNet and its step are untouched
        assertEquals(own.gemmFlopsPerStep(), fixed.gemmFlopsPerStep());
        assertEquals(own.activationPeakBytes(), fixed.activationPeakBytes());
    }

    @Test
    void aVaeWhoseLatentsDifferIsRefusedNamingTheOption() throws IOException {
        Path vae16 = tmp.resolve("vae-16-channels");
        Files.createDirectories(vae16);
        Files.writeString(vae16.resolve("config.json"), Files.readString(fp16FixVae().resolve("config.json"))
                .replaceAll("\"latent_channels\"\\s*:\\s*4", "\"latent_channels\": 16"));
        // no weights: the config alone refuses it, before any weight file is looked at
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DeviceProfiler.run(new ProfileRequest("sdxl-base", null, 1024, 1024, DType.F16, 0, 1, 1.0, false, vae16)));
        assertTrue(e.getMessage().startsWith("--vae: ") && e.getMessage().contains("latent_channels 16"), e.getMessage());
    }
}
