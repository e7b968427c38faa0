package io.jdiffusion.unet;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.WeightException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading from doctored and re-typed copies of the fixture base UNet. */
class WeightLoadingTest {
    static final Path BASE = Fixtures.path("sdxl-base/unet");
    static final Path BASE_WEIGHTS = UNet2DConditionModel.weightFile(BASE);

    static Path folderWith(Path dir, String weightFile, Map<String, SafetensorsTestFiles.Entry> entries) throws Exception {
        Files.copy(BASE.resolve("config.json"), dir.resolve("config.json"));
        SafetensorsTestFiles.write(dir.resolve(weightFile), entries);
        return dir;
    }

    @Test
    void everyBadWeightIsReportedByKeyWithBothShapes(@TempDir Path dir) throws Exception {
        Map<String, SafetensorsTestFiles.Entry> e = new LinkedHashMap<>(SafetensorsTestFiles.read(BASE_WEIGHTS));
        List<String> names = List.copyOf(e.keySet());
        // pick victims by role, not by hard-coded shape
        String missing = names.stream().filter(n -> n.startsWith("conv_in.bias")).findFirst().orElseThrow();
        String misShaped = names.stream().filter(n -> n.startsWith("mid_block.") && n.endsWith("proj_in.weight")).findFirst().orElseThrow();
        int[] rightShape = e.get(misShaped).shape();
        int[] wrongShape = {rightShape[0], rightShape[1] - 1};
        String unexpected = "down_blocks.0.resnets.0.conv3.weight";

        SafetensorsTestFiles.Entry removed = e.remove(missing);
        SafetensorsTestFiles.Entry ms = e.get(misShaped);
        e.put(misShaped, new SafetensorsTestFiles.Entry(ms.dtype(), wrongShape, Arrays.copyOf(ms.data(), wrongShape[0] * wrongShape[1] * (ms.data().length / (rightShape[0] * rightShape[1])))));
        e.put(unexpected, new SafetensorsTestFiles.Entry("F16", new int[] {2, 2}, new byte[8]));

        Path folder = folderWith(dir, "diffusion_pytorch_model.safetensors", e);
        WeightException ex = assertThrows(WeightException.class, () -> UNet2DConditionModel.load(folder, CpuBackend.INSTANCE));
        assertEquals(3, ex.problems().size(), ex.getMessage());
        String msg = ex.getMessage();
        assertTrue(msg.contains("missing key '" + missing + "': expected shape " + Arrays.toString(removed.shape())), msg);
        assertTrue(msg.contains("mis-shaped key '" + misShaped + "'") && msg.contains("expected " + Arrays.toString(rightShape)
                + ", found " + Arrays.toString(wrongShape)), msg);
        assertTrue(msg.contains("unexpected key '" + unexpected + "' [2, 2]"), msg);
    }

    @Test
    void missingWeightFileNamesTheCandidates(@TempDir Path dir) throws Exception {
        Files.copy(BASE.resolve("config.json"), dir.resolve("config.json"));
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> UNet2DConditionModel.load(dir, CpuBackend.INSTANCE));
        assertTrue(ex.getMessage().contains("diffusion_pytorch_model.fp16.safetensors"), ex.getMessage());
    }

    /**
     * The same numbers stored as F32 (in the fp16-variant file name) must give bit-identical outputs;
     * BF16-stored weights must give exactly what F32-stored bf16-rounded weights give (so BF16 is
     * decoded exactly, in place).
     */
    @Test
    void f32F16AndBf16StoredWeightsAgree(@TempDir Path dir) throws Exception {
        Map<String, SafetensorsTestFiles.Entry> stored = SafetensorsTestFiles.read(BASE_WEIGHTS);
        Map<String, SafetensorsTestFiles.Entry> f32 = SafetensorsTestFiles.convertAll(stored, DType.F32);
        Map<String, SafetensorsTestFiles.Entry> bf16 = SafetensorsTestFiles.convertAll(stored, DType.BF16);
        Map<String, SafetensorsTestFiles.Entry> bf16AsF32 = SafetensorsTestFiles.convertAll(bf16, DType.F32);

        Path dF32 = folderWith(Files.createDirectory(dir.resolve("f32")), "diffusion_pytorch_model.fp16.safetensors", f32);
        Path dBf16 = folderWith(Files.createDirectory(dir.resolve("bf16")), "diffusion_pytorch_model.safetensors", bf16);
        Path dBf16F32 = folderWith(Files.createDirectory(dir.resolve("bf16f32")), "diffusion_pytorch_model.safetensors", bf16AsF32);

        String in = "unet/base/";
        Tensor sample = Fixtures.tensor(in + "sample"), ctx = Fixtures.tensor(in + "encoder_hidden_states"),
                text = Fixtures.tensor(in + "text_embeds"), ids = Fixtures.tensor(in + "time_ids");
        float t = 500f;
        float[] ref, outF32, outBf16, outBf16F32;
        try (var m = UNet2DConditionModel.load(BASE, CpuBackend.INSTANCE)) { ref = m.forward(sample, t, ctx, text, ids).toFloatArray(); }
        try (var m = UNet2DConditionModel.load(dF32, CpuBackend.INSTANCE)) { outF32 = m.forward(sample, t, ctx, text, ids).toFloatArray(); }
        try (var m = UNet2DConditionModel.load(dBf16, CpuBackend.INSTANCE)) { outBf16 = m.forward(sample, t, ctx, text, ids).toFloatArray(); }
        try (var m = UNet2DConditionModel.load(dBf16F32, CpuBackend.INSTANCE)) { outBf16F32 = m.forward(sample, t, ctx, text, ids).toFloatArray(); }
        assertArrayEquals(ref, outF32, "F32-stored copy of the F16 weights");
        assertArrayEquals(outBf16F32, outBf16, "BF16-stored vs F32-stored bf16 values");
        assertTrue(!Arrays.equals(ref, outBf16), "bf16 rounding must change the output (else the test proves nothing)");
    }
}
