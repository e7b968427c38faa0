package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.pipelines.checkpoint.Component;
import io.jdiffusion.pipelines.lora.LoraAdapter;
import io.jdiffusion.pipelines.lora.LoraStack;
import io.jdiffusion.pipelines.lora.LoraWeights;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import io.jdiffusion.tensor.weights.WeightSource;
import io.jdiffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA adapters against diffusers + PEFT (testdata/generate/make_lora_fixtures.py; the fixture set's
 * {@code lora/} folder): one and two adapters in the PEFT layout, the same adapters in the kohya
 * layout, fusing against the unfused layer computation, and unfusing.
 */
class LoraFixtureTest {
    static Path dir;
    static JsonNode ref;
    static SafetensorsFile tensors;
    static SdxlModel model;

    @BeforeAll
    static void open() {
        dir = Fixtures.required("lora/reference.json").getParent();
        ref = Fixtures.readJson(dir.resolve("reference.json"));
        tensors = SafetensorsFile.open(dir.resolve("reference.safetensors"));
        model = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, Fixtures.backend());
    }

    @AfterAll
    static void close() {
        if (tensors != null) tensors.close();
        if (model != null) model.close();
    }

    static Path file(String adapter, String layout) { return dir.resolve(ref.path("adapters").path(adapter).path(layout).asText()); }

    /** The adapters of a case, read from the files of {@code layout} ("peft" or "kohya"), with the case's scales. */
    static LoraStack stack(JsonNode c, String layout) {
        LoraStack s = LoraStack.NONE;
        for (int i = 0; i < c.path("adapters").size(); i++) {
            s = s.plus(LoraAdapter.read(file(c.path("adapters").get(i).asText(), layout)), c.path("scales").get(i).asDouble());
        }
        return s;
    }

    /** Runs a case (txt2img, latents out) with {@code stack} on the model; every step's latents and the output, in order. */
    static List<float[]> run(String name, LoraStack stack) {
        JsonNode c = ref.path("cases").path(name);
        model.loras(stack);
        List<float[]> steps = new ArrayList<>();
        GenerationResult r = PipelineFixtureTest.run(model, c, steps);
        steps.add(r.latents());
        return steps;
    }

    static void assertMatchesDiffusers(String name, List<float[]> got) {
        float[] all = tensors.floats(name + "/step_latents");
        int n = got.size() - 1, per = all.length / n;
        assertEquals(tensors.info(name + "/step_latents").shape()[0], n, name + ": number of steps");
        for (int i = 0; i < n; i++) {
            TensorAssert.assertClose(name + " step " + i + " latents", Arrays.copyOfRange(all, i * per, (i + 1) * per), got.get(i),
                    Fixtures.tolerance(1e-4));
        }
        TensorAssert.Diff d = TensorAssert.assertClose(name + " output latents", tensors.floats(name + "/output"), got.get(n), Fixtures.tolerance(1e-4));
        System.out.println(name + ": " + d);
    }

    @Test
    void oneAndTwoPeftAdaptersMatchDiffusers() {
        for (String name : List.of("pipe/lora_one", "pipe/lora_two")) {
            assertMatchesDiffusers(name, run(name, stack(ref.path("cases").path(name), "peft")));
        }
    }

    @Test
    void kohyaFilesGiveThePeftResult() {
        String name = "pipe/lora_two";
        List<float[]> peft = run(name, stack(ref.path("cases").path(name), "peft"));
        List<float[]> kohya = run(name, stack(ref.path("cases").path(name), "kohya"));
        assertMatchesDiffusers(name, kohya);
        // Not bit for bit: the kohya files hold lora_up / (alpha/rank) in F16, which rounds where that
        // falls below F16's normal range; diffusers' own kohya-vs-PEFT difference is recorded in the case.
        double theirs = ref.path("cases").path(name).path("diffusers_kohya_vs_peft_max_abs").asDouble();
        for (int i = 0; i < peft.size(); i++) {
            TensorAssert.Diff d = TensorAssert.assertClose(name + " kohya vs PEFT, " + i, peft.get(i), kohya.get(i), 1e-4);
            if (i == peft.size() - 1) System.out.println("kohya vs PEFT output: " + d + " (diffusers: " + theirs + ")");
        }
    }

    @Test
    void unfusingRestoresTheBaseResultBitForBit() {
        String name = "pipe/lora_one";
        List<float[]> before = run(name, LoraStack.NONE);
        List<float[]> with = run(name, stack(ref.path("cases").path(name), "peft"));
        List<float[]> after = run(name, LoraStack.NONE);
        double change = 0;
        for (int i = 0; i < before.size(); i++) {
            assertArrayEquals(before.get(i), after.get(i), "step " + i + " after unfusing");
            for (int j = 0; j < with.get(i).length; j++) change = Math.max(change, Math.abs(with.get(i)[j] - before.get(i)[j]));
        }
        assertTrue(change > 1e-2, "the adapter changed the latents (by " + change + "), so the comparison means something");
    }

    /**
     * Every adapted UNet weight: the fused layer's output equals the base layer's plus the LoRA branch
     * computed on the fly (x·Aᵀ·Bᵀ·factor, or the conv and 1×1 conv for LoCon), on random inputs. And the
     * untouched weights are the mapped file's own tensors (no copy); the base source is the stored weights.
     */
    @Test
    void fusedLayersEqualTheUnfusedComputationAndUntouchedWeightsStayMapped() {
        Backend be = CpuBackend.INSTANCE;
        JsonNode c = ref.path("cases").path("pipe/lora_two");
        Path unetDir = Fixtures.path("sdxl-base/unet");
        int stride = model.unetConfig().layersPerBlock()[0] + 1;
        WeightSource raw = UNet2DConditionModel.openWeights(UNet2DConditionModel.weightFile(unetDir));
        try (WeightSource fused = stack(c, "peft").wrap(Component.UNET, raw, stride)) { // closes raw too
            LoraWeights lw = assertInstanceOf(LoraWeights.class, fused);
            assertSame(raw, lw.base(), "unfusing is dropping the wrapper: the stored weights");
            Random rnd = new Random(5);
            int checked = 0, convs = 0;
            double worst = 0;
            for (Map.Entry<String, List<LoraWeights.Term>> e : lw.terms().entrySet()) {
                String key = e.getKey();
                Tensor w = raw.tensor(key), wf = lw.tensor(key);
                Tensor bias = raw.keys().contains(key.replace(".weight", ".bias")) ? raw.tensor(key.replace(".weight", ".bias")) : null;
                float[] got, want;
                if (w.rank() == 2) {
                    Tensor x = random(rnd, 3, w.dim(1));
                    got = be.linear(x, wf, bias).toFloatArray();
                    float[] y = be.linear(x, w, bias).toFloatArray();
                    for (LoraWeights.Term t : e.getValue()) {
                        float[] branch = be.linear(be.linear(x, t.layer().down(), null), t.layer().up(), null).toFloatArray();
                        for (int i = 0; i < y.length; i++) y[i] += (float) t.factor() * branch[i];
                    }
                    want = y;
                } else {
                    convs++;
                    int k = w.dim(2), pad = k / 2;
                    Tensor x = random(rnd, 1, w.dim(1), 6, 5);
                    got = be.conv2d(x, wf, bias, 1, pad).toFloatArray();
                    float[] y = be.conv2d(x, w, bias, 1, pad).toFloatArray();
                    for (LoraWeights.Term t : e.getValue()) {
                        float[] branch = be.conv2d(be.conv2d(x, t.layer().down(), null, 1, pad), t.layer().up(), null, 1, 0).toFloatArray();
                        for (int i = 0; i < y.length; i++) y[i] += (float) t.factor() * branch[i];
                    }
                    want = y;
                }
                worst = Math.max(worst, TensorAssert.assertClose(key + " fused vs on the fly", want, got, 1e-5).maxAbs());
                checked++;
            }
            System.out.printf("fused vs on-the-fly: %d layers (%d convolutions), max abs diff %.3g%n", checked, convs, worst);
            assertTrue(convs > 0 && checked > convs, "linear and convolution layers were checked: " + checked + ", " + convs);
            String untouched = raw.keys().stream().filter(k -> !lw.terms().containsKey(k)).findFirst().orElseThrow();
            Tensor t = lw.tensor(untouched);
            assertInstanceOf(SegmentStorage.class, t.storage(), "an untouched weight is a view of the mapped file");
            String adapted = lw.terms().keySet().iterator().next();
            assertNotSame(raw.tensor(adapted).storage(), lw.tensor(adapted).storage());
        }
    }

    static Tensor random(Random rnd, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian();
        return Tensor.of(v, shape);
    }
}
