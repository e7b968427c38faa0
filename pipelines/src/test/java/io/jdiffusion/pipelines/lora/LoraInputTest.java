package io.jdiffusion.pipelines.lora;

import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.checkpoint.Component;
import io.jdiffusion.pipelines.checkpoint.LoraKeys;
import io.jdiffusion.pipelines.checkpoint.OriginalKeyNames;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.SafetensorsWriter;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.WeightSource;
import io.jdiffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad LoRA files are refused before any weight is read, naming what is wrong; kohya names of both UNet spellings resolve. */
class LoraInputTest {
    @TempDir
    static Path tmp;
    static Path peft, kohya;
    static SdxlModel model;

    @BeforeAll
    static void open() {
        Path dir = Fixtures.required("lora/reference.json").getParent();
        peft = dir.resolve("a-peft.safetensors");
        kohya = dir.resolve("a-kohya.safetensors");
        model = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, CpuBackend.INSTANCE);
    }

    @AfterAll
    static void close() {
        if (model != null) model.close();
    }

    /** A copy of {@code src} with tensors renamed/reshaped by {@code edit} (null drops one). */
    static Path rewrite(Path src, String name, java.util.function.BiFunction<String, Tensor, Object[]> edit) {
        Path out = tmp.resolve(name);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(src)) {
            for (String k : f.names()) {
                Tensor t = Tensor.of(f.floats(k), f.info(k).shape());
                Object[] e = edit.apply(k, t);
                if (e != null) w.add((String) e[0], (Tensor) e[1]);
            }
        }
        w.write(out);
        return out;
    }

    @Test
    void misShapedLayerIsRefusedNamingTheKeyAndBothShapes() {
        String victim = "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight";
        Path bad = rewrite(peft, "mis-shaped.safetensors", (k, t) -> k.equals(victim)
                ? new Object[] {k, Tensor.of(new float[t.dim(0) * 7], t.dim(0), 7)} : new Object[] {k, t});
        LoraAdapter a = LoraAdapter.read(bad);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.loras(LoraStack.NONE.plus(a, 1.0)));
        int[] w = shapeOf("down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight");
        assertTrue(e.getMessage().contains(victim) && e.getMessage().contains("[" + a.layers(Component.UNET).get(0).rank() + ", 7]")
                && e.getMessage().contains(Arrays.toString(w)), e.getMessage());
        assertSame(LoraStack.NONE, model.loras(), "a refused adapter leaves the model as it was");
    }

    static int[] shapeOf(String key) {
        try (WeightSource s = UNet2DConditionModel.openWeights(UNet2DConditionModel.weightFile(Fixtures.path("sdxl-base/unet")))) {
            return s.shape(key);
        }
    }

    @Test
    void unmatchedKeysAreListedBoundedAndRefusedUnlessLenient() {
        Path bad = rewrite(peft, "unmatched.safetensors", (k, t) -> new Object[] {k.replace("attn1.to_q", "attn9.to_q"), t});
        LoraAdapter a = LoraAdapter.read(bad);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.loras(LoraStack.NONE.plus(a, 1.0)));
        assertTrue(e.getMessage().contains("match no module") && e.getMessage().contains("attn9.to_q") && e.getMessage().contains("more")
                && e.getMessage().contains("--lora-lenient"), e.getMessage());
        long listed = e.getMessage().chars().filter(ch -> ch == ',').count();
        assertTrue(listed < LoraStack.LISTED + 2, "at most " + LoraStack.LISTED + " names listed: " + e.getMessage());
        model.loras(LoraStack.NONE.plus(a, 1.0).lenient(true));
        assertEquals(1, model.loras().entries().size());
        model.loras(LoraStack.NONE);
    }

    @Test
    void otherFamiliesAndOtherFilesAreRefusedByName() {
        Path sd15 = rewrite(kohya, "sd15.safetensors", (k, t) -> new Object[] {k.replace("lora_te1_", "lora_te_"), t});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraAdapter.read(sd15));
        assertTrue(e.getMessage().contains("1.x/2.x") && e.getMessage().contains("lora_te_"), e.getMessage());
        Path none = rewrite(peft, "none.safetensors", (k, t) -> new Object[] {k.replace("lora_A", "weight_a").replace("lora_B", "weight_b"), t});
        e = assertThrows(IllegalArgumentException.class, () -> LoraAdapter.read(none));
        assertTrue(e.getMessage().contains("no LoRA layers"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> LoraAdapter.read(tmp.resolve("missing.safetensors")));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    /**
     * SDXL kohya trainers name UNet modules the original (SGM) way: a file renamed so resolves to the
     * same weights, with the same fused result, as the diffusers-named kohya file.
     */
    @Test
    void kohyaUnetNamesInTheOriginalSpellingResolveToTheSameWeights() {
        try (WeightSource raw = UNet2DConditionModel.openWeights(UNet2DConditionModel.weightFile(Fixtures.path("sdxl-base/unet")))) {
            int stride = model.unetConfig().layersPerBlock()[0] + 1;
            LoraKeys.ModuleIndex index = new LoraKeys.ModuleIndex(Component.UNET, raw.keys(), stride);
            Set<String> keys = raw.keys();
            Path sgm = rewrite(kohya, "sgm.safetensors", (k, t) -> {
                LoraKeys.Parsed p = LoraKeys.parse(k);
                if (p == null || p.component() != Component.UNET) return new Object[] {k, t};
                String weight = index.weightKey(p);
                String original = OriginalKeyNames.unetOriginal(weight, keys, stride);
                String module = original.substring(0, original.length() - ".weight".length()).replace('.', '_');
                return new Object[] {"lora_unet_" + module + k.substring(k.indexOf('.')), t};
            });
            LoraAdapter a = LoraAdapter.read(kohya), b = LoraAdapter.read(sgm);
            assertTrue(b.layers(Component.UNET).stream().anyMatch(l -> l.name().module().startsWith("input_blocks_")), "the file uses SGM names");
            LoraWeights wa = (LoraWeights) LoraStack.NONE.plus(a, 0.7).wrap(Component.UNET, raw, stride);
            LoraWeights wb = (LoraWeights) LoraStack.NONE.plus(b, 0.7).wrap(Component.UNET, raw, stride);
            assertEquals(wa.terms().keySet(), wb.terms().keySet());
            for (String key : wa.terms().keySet()) assertArrayEquals(wa.tensor(key).toFloatArray(), wb.tensor(key).toFloatArray(), key);
            assertNotNull(wa.terms().keySet().stream().filter(k -> k.contains("conv1")).findFirst().orElse(null), "LoCon layers included");
        }
    }
}
