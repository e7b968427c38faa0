package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.WeightException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

class CLIPTextModelTest {
    private static final io.jdiffusion.tensor.Backend BACKEND = Fixtures.backend();
    private static final double ATOL = Fixtures.tolerance(1e-4);

    static int[][] ids(String name) {
        Tensor t = Fixtures.tensor(name);
        int b = t.dim(0), s = t.dim(1);
        float[] f = t.toFloatArray();
        int[][] ids = new int[b][s];
        for (int i = 0; i < b; i++) for (int j = 0; j < s; j++) ids[i][j] = Math.round(f[i * s + j]);
        return ids;
    }

    private static void report(String what, TensorAssert.Diff d) { System.out.println(what + ": " + d); }

    @Test
    void textEncoder1MatchesTransformers() {
        int[][] ids = ids("te1/input_ids");
        try (CLIPTextModel m = CLIPTextModel.load(Fixtures.path("sdxl-base/text_encoder"), BACKEND)) {
            CLIPTextOutput o = m.forward(ids, true);
            assertEquals(m.config().numHiddenLayers() + 1, o.hiddenStates().size());
            assertNull(o.textEmbeds());
            report("te1 penultimate", TensorAssert.assertClose("te1 penultimate", Fixtures.tensor("te1/penultimate"), o.hiddenState(-2), ATOL));
            report("te1 last_hidden_state", TensorAssert.assertClose("te1 last_hidden_state", Fixtures.tensor("te1/last_hidden_state"), o.lastHiddenState(), ATOL));
            report("te1 pooler_output", TensorAssert.assertClose("te1 pooler_output", Fixtures.tensor("te1/pooler_output"), o.pooledOutput(), ATOL));
            CLIPTextOutput noHidden = m.forward(ids, false);
            assertNull(noHidden.hiddenStates());
            assertArrayEquals(o.lastHiddenState().toFloatArray(), noHidden.lastHiddenState().toFloatArray());
        }
    }

    @Test
    void textEncoder2MatchesTransformers() {
        int[][] ids = ids("te2/input_ids");
        try (CLIPTextModelWithProjection m = CLIPTextModelWithProjection.load(Fixtures.path("sdxl-base/text_encoder_2"), BACKEND)) {
            CLIPTextOutput o = m.forward(ids, true);
            report("te2 penultimate", TensorAssert.assertClose("te2 penultimate", Fixtures.tensor("te2/penultimate"), o.hiddenState(-2), ATOL));
            report("te2 last_hidden_state", TensorAssert.assertClose("te2 last_hidden_state", Fixtures.tensor("te2/last_hidden_state"), o.lastHiddenState(), ATOL));
            report("te2 text_embeds", TensorAssert.assertClose("te2 text_embeds", Fixtures.tensor("te2/text_embeds"), o.textEmbeds(), ATOL));
            assertArrayEquals(new int[] {ids.length, m.config().projectionDim()}, o.textEmbeds().shape());
        }
    }

    @Test
    void fixtureIdsAreTheTokenizersOutputForTheFirstPrompts() {
        JsonNode cases = Fixtures.reference().get("tokenizer");
        CLIPTokenizer t1 = CLIPTokenizer.load(Fixtures.path("sdxl-base/tokenizer"));
        CLIPTokenizer t2 = CLIPTokenizer.load(Fixtures.path("sdxl-base/tokenizer_2"));
        int[][] i1 = ids("te1/input_ids"), i2 = ids("te2/input_ids");
        for (int i = 0; i < i1.length; i++) {
            String p = cases.get(i).get("prompt").asText();
            assertArrayEquals(i1[i], t1.encode(p).ids(), p);
            assertArrayEquals(i2[i], t2.encode(p).ids(), p);
        }
    }

    /** The naive double-precision tower of the test agrees with transformers too, so it can serve as an oracle elsewhere. */
    @Test
    void naiveOracleMatchesTransformersAndTheModel() {
        for (String te : List.of("te1", "te2")) {
            NaiveClip naive = new NaiveClip(Fixtures.path(te.equals("te1") ? "sdxl-base/text_encoder" : "sdxl-base/text_encoder_2"));
            int[][] ids = ids(te + "/input_ids");
            List<double[][]> pen = new ArrayList<>(), last = new ArrayList<>();
            for (int[] row : ids) {
                NaiveClip.Out o = naive.forward(row);
                pen.add(o.hidden().get(o.hidden().size() - 2));
                last.add(o.last());
            }
            TensorAssert.assertClose(te + " naive penultimate", Fixtures.tensor(te + "/penultimate").toFloatArray(), NaiveClip.flat(pen), ATOL);
            TensorAssert.assertClose(te + " naive last", Fixtures.tensor(te + "/last_hidden_state").toFloatArray(), NaiveClip.flat(last), ATOL);
        }
        // every hidden state of the model against the oracle, for a prompt outside the fixtures
        NaiveClip naive = new NaiveClip(Fixtures.path("sdxl-base/text_encoder_2"));
        CLIPTokenizer t2 = CLIPTokenizer.load(Fixtures.path("sdxl-base/tokenizer_2"));
        int[] row = t2.encode("an oil painting of a lighthouse, stormy sea!").ids();
        try (CLIPTextModelWithProjection m = CLIPTextModelWithProjection.load(Fixtures.path("sdxl-base/text_encoder_2"), BACKEND)) {
            CLIPTextOutput o = m.forward(new int[][] {row}, true);
            NaiveClip.Out n = naive.forward(row);
            for (int l = 0; l < n.hidden().size(); l++) {
                TensorAssert.assertClose("hidden_states[" + l + "]", NaiveClip.flat(List.<double[][]>of(n.hidden().get(l))), o.hiddenState(l).toFloatArray(), 1e-5);
            }
            float[] te = new float[n.textEmbeds().length];
            for (int i = 0; i < te.length; i++) te[i] = (float) n.textEmbeds()[i];
            TensorAssert.assertClose("text_embeds", te, o.textEmbeds().toFloatArray(), 1e-5);
        }
    }

    @Test
    void batchRowsAreIndependentAndAttentionIsCausal() {
        int[][] ids = ids("te1/input_ids");
        try (CLIPTextModel m = CLIPTextModel.load(Fixtures.path("sdxl-base/text_encoder"), BACKEND)) {
            float[] batch = m.forward(ids, false).lastHiddenState().toFloatArray();
            int per = batch.length / ids.length;
            for (int i = 0; i < ids.length; i++) {
                float[] single = m.forward(new int[][] {ids[i]}, false).lastHiddenState().toFloatArray();
                TensorAssert.assertClose("row " + i + " alone", Arrays.copyOfRange(batch, i * per, (i + 1) * per), single, 1e-6);
            }
            // changing token 10 leaves positions 0..9 untouched and changes position 10
            int[] a = ids[0].clone(), b = ids[0].clone();
            b[10] = a[10] == 320 ? 321 : 320;
            assertNotEquals(a[10], b[10]);
            float[] ya = m.forward(new int[][] {a}, false).lastHiddenState().toFloatArray();
            float[] yb = m.forward(new int[][] {b}, false).lastHiddenState().toFloatArray();
            int d = m.config().hiddenSize();
            assertArrayEquals(Arrays.copyOf(ya, 10 * d), Arrays.copyOf(yb, 10 * d));
            assertFalse(Arrays.equals(Arrays.copyOfRange(ya, 10 * d, 11 * d), Arrays.copyOfRange(yb, 10 * d, 11 * d)));
        }
    }

    @Test
    void pooledPositionFollowsTransformers() {
        // first occurrence of eos_token_id; 0 when absent
        assertEquals(3, CLIPTextTransformer.poolIndex(new int[] {49406, 5, 6, 49407, 49407, 49407}, 49407));
        assertEquals(0, CLIPTextTransformer.poolIndex(new int[] {49406, 5, 6}, 49407));
        // eos_token_id == 2 (legacy configs): argmax of the ids, first maximum
        assertEquals(3, CLIPTextTransformer.poolIndex(new int[] {49406, 5, 6, 49407, 49407, 2}, 2));
        assertEquals(1, CLIPTextTransformer.poolIndex(new int[] {3, 9, 9, 2}, 2));
    }

    // ---- key forms, variants, doctored files --------------------------------------------------

    private static Path copyFolder(Path from, Path to, Map<String, StBytes.Entry> weights, String fileName) throws IOException {
        Files.createDirectories(to);
        Files.copy(from.resolve("config.json"), to.resolve("config.json"));
        StBytes.write(to.resolve(fileName), weights);
        return to;
    }

    private static Map<String, StBytes.Entry> renamed(Map<String, StBytes.Entry> w, java.util.function.UnaryOperator<String> f) {
        Map<String, StBytes.Entry> out = new LinkedHashMap<>();
        w.forEach((k, v) -> out.put(f.apply(k), v));
        return out;
    }

    @Test
    void bothKeyFormsAndTheFp16VariantLoadToTheSameModel(@TempDir Path dir) throws IOException {
        Path te1 = Fixtures.path("sdxl-base/text_encoder"), te2 = Fixtures.path("sdxl-base/text_encoder_2");
        Map<String, StBytes.Entry> w1 = StBytes.read(te1.resolve("model.safetensors"));
        Map<String, StBytes.Entry> w2 = StBytes.read(te2.resolve("model.safetensors"));
        int[][] ids1 = ids("te1/input_ids"), ids2 = ids("te2/input_ids");
        Tensor ref1 = Fixtures.tensor("te1/last_hidden_state"), ref2 = Fixtures.tensor("te2/text_embeds");

        // transformers 4 form of CLIPTextModel: "text_model." prefix, plus the old position_ids buffer
        Map<String, StBytes.Entry> prefixed = renamed(w1, k -> k.startsWith("text_model.") ? k : "text_model." + k);
        prefixed.put("text_model.embeddings.position_ids", new StBytes.Entry("I64", new int[] {1, 77}, new byte[8 * 77]));
        Path p1 = copyFolder(te1, dir.resolve("te1-prefixed"), prefixed, "model.safetensors");
        try (CLIPTextModel m = CLIPTextModel.load(p1, BACKEND)) {
            TensorAssert.assertClose("te1 from text_model.-prefixed keys", ref1, m.forward(ids1, false).lastHiddenState(), ATOL);
        }
        // CLIPTextModelWithProjection with the tower's keys unprefixed
        Map<String, StBytes.Entry> unprefixed = renamed(w2, k -> k.startsWith("text_model.") ? k.substring(11) : k);
        Path p2 = copyFolder(te2, dir.resolve("te2-unprefixed"), unprefixed, "model.safetensors");
        try (CLIPTextModelWithProjection m = CLIPTextModelWithProjection.load(p2, BACKEND)) {
            TensorAssert.assertClose("te2 from unprefixed keys", ref2, m.forward(ids2, false).textEmbeds(), ATOL);
        }
        // diffusers' fp16 variant file name, asked for explicitly and found when it is the only file
        Path p3 = copyFolder(te1, dir.resolve("te1-fp16"), w1, "model.fp16.safetensors");
        try (CLIPTextModel m = CLIPTextModel.load(p3, BACKEND, "fp16"); CLIPTextModel m2 = CLIPTextModel.load(p3, BACKEND)) {
            TensorAssert.assertClose("te1 fp16 variant", ref1, m.forward(ids1, false).lastHiddenState(), ATOL);
            TensorAssert.assertClose("te1 fp16 fallback", ref1, m2.forward(ids1, false).lastHiddenState(), ATOL);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CLIPTextModel.load(p1, BACKEND, "fp16"));
        assertTrue(e.getMessage().contains("model.fp16.safetensors"), e.getMessage());
    }

    @Test
    void missingExtraAndMisShapedWeightsAreReportedByKeyFileAndShape(@TempDir Path dir) throws IOException {
        Path te1 = Fixtures.path("sdxl-base/text_encoder");
        CLIPTextConfig c = CLIPTextConfig.read(te1.resolve("config.json"));
        // in the canonical (unprefixed) names, whichever form the fixture file uses
        Map<String, StBytes.Entry> w = renamed(StBytes.read(te1.resolve("model.safetensors")), ClipWeights::unprefixed);
        String missing = "encoder.layers.0.mlp.fc2.bias";
        String misShaped = "final_layer_norm.weight";
        String extra = "encoder.layers.99.mlp.fc1.weight";
        assertNotNull(w.remove(missing));
        w.put(misShaped, StBytes.f32(1f, c.hiddenSize() + 1));
        w.put(extra, StBytes.f32(0f, 2, 3));
        Path folder = copyFolder(te1, dir.resolve("doctored"), w, "model.safetensors");
        Path file = folder.resolve("model.safetensors");
        WeightException e = assertThrows(WeightException.class, () -> CLIPTextModel.load(folder, BACKEND));
        assertEquals(3, e.problems().size(), e.getMessage());
        String miss = find(e.problems(), missing), shape = find(e.problems(), misShaped), unexp = find(e.problems(), extra);
        assertTrue(miss.contains("missing") && miss.contains("[" + c.hiddenSize() + "]") && miss.contains(file.toString()), miss);
        assertTrue(shape.contains("expected [" + c.hiddenSize() + "]") && shape.contains("found [" + (c.hiddenSize() + 1) + "]")
                && shape.contains(file.toString()), shape);
        assertTrue(unexp.contains("unexpected") && unexp.contains("[2, 3]") && unexp.contains(file.toString()), unexp);
    }

    private static String find(List<String> problems, String key) {
        return problems.stream().filter(p -> p.contains("'" + key + "'")).findFirst()
                .orElseThrow(() -> new AssertionError("no problem reported for " + key + " in " + problems));
    }

    @Test
    void configsAreValidated(@TempDir Path dir) throws IOException {
        Path cfg = dir.resolve("config.json");
        Files.writeString(cfg, "{\"hidden_act\": \"relu\"}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CLIPTextConfig.read(cfg));
        assertTrue(e.getMessage().contains("relu") && e.getMessage().contains("quick_gelu") && e.getMessage().contains("gelu"), e.getMessage());
        Files.writeString(cfg, "{\"hidden_size\": 10, \"num_attention_heads\": 3}");
        e = assertThrows(IllegalArgumentException.class, () -> CLIPTextConfig.read(cfg));
        assertTrue(e.getMessage().contains("num_attention_heads"), e.getMessage());
        // a full CLIPConfig is read from its text_config
        Files.writeString(cfg, "{\"text_config\": {\"hidden_size\": 32, \"num_attention_heads\": 4, \"hidden_act\": \"gelu\"}}");
        CLIPTextConfig c = CLIPTextConfig.read(cfg);
        assertEquals(32, c.hiddenSize());
        assertEquals(8, c.headDim());
        try (CLIPTextModel m = CLIPTextModel.load(Fixtures.path("sdxl-base/text_encoder"), BACKEND)) {
            int max = m.config().maxPositionEmbeddings();
            e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[][] {new int[max + 1]}, false));
            assertTrue(e.getMessage().contains("max_position_embeddings"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[][] {{49406, m.config().vocabSize()}}, false));
            assertTrue(e.getMessage().contains("vocabulary"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> m.forward(new int[][] {{1, 2}, {1}}, false));
            assertTrue(e.getMessage().contains("row 1"), e.getMessage());
        }
    }

    // ---- full-size module trees -------------------------------------------------------------

    /** CLIP ViT-L/14's text tower as in SDXL's text_encoder/config.json (spec §2.1). */
    static final CLIPTextConfig CLIP_L = new CLIPTextConfig(49408, 768, 3072, 12, 12, 77, "quick_gelu", 1e-5, 768, 49406, 49407, 1);
    /** OpenCLIP ViT-bigG/14's text tower as in SDXL's text_encoder_2/config.json. */
    static final CLIPTextConfig CLIP_BIGG = new CLIPTextConfig(49408, 1280, 5120, 32, 20, 77, "gelu", 1e-5, 1280, 49406, 49407, 1);

    private static Map<String, List<Integer>> expectedKeys(String component) {
        Map<String, List<Integer>> out = new TreeMap<>();
        JsonNode keys = Fixtures.sdxlKeys().get(component);
        for (Iterator<Map.Entry<String, JsonNode>> it = keys.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            List<Integer> shape = new ArrayList<>();
            for (JsonNode d : e.getValue().get(0)) shape.add(d.asInt());
            out.put(e.getKey(), shape);
        }
        return out;
    }

    private static Map<String, List<Integer>> requested(Params p) {
        Map<String, List<Integer>> out = new TreeMap<>();
        p.requested().forEach((k, v) -> out.put(k, Arrays.stream(v).boxed().toList()));
        return out;
    }

    @Test
    void fullSizeClipLExpectsExactlyTheOfficialKeys() {
        assertRequestsOfficialKeys("clip_l", 196, p -> new CLIPTextModel(CLIP_L, p));
    }

    @Test
    void fullSizeBigGExpectsExactlyTheOfficialKeys() {
        assertRequestsOfficialKeys("clip_bigg", 517, p -> new CLIPTextModelWithProjection(CLIP_BIGG, p));
    }

    /** The model built on a shapes-only tree asks for exactly the official checkpoint's keys and shapes. */
    private static void assertRequestsOfficialKeys(String name, int keys, java.util.function.Consumer<Params> build) {
        Params p = Params.shapesOnly(name, DType.F16);
        build.accept(p);
        p.finish();
        Map<String, List<Integer>> expected = expectedKeys(name);
        assertEquals(keys, expected.size());
        assertEquals(expected, requested(p));
    }
}
