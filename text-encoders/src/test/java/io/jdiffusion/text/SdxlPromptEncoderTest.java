package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SdxlPromptEncoderTest {
    private static final io.jdiffusion.tensor.Backend BACKEND = Fixtures.backend();
    private static final double ATOL = Fixtures.tolerance(1e-4);
    private static final SdxlPromptEncoder BASE = SdxlPromptEncoder.load(Fixtures.path("sdxl-base"), BACKEND);
    private static final SdxlPromptEncoder REFINER = SdxlPromptEncoder.load(Fixtures.path("sdxl-refiner"), BACKEND);

    @AfterAll
    static void close() {
        BASE.close();
        REFINER.close();
    }

    // ---- replaying reference.json --------------------------------------------------------------

    private record Case(String name, JsonNode args) {
        boolean refiner() { return model().contains("refiner"); }

        String model() {
            if (args.hasNonNull("model")) return args.get("model").asText();
            return name.endsWith("refiner") ? "sdxl-refiner" : "sdxl-base";
        }
    }

    private static List<Case> cases() {
        List<Case> out = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = Fixtures.reference().get("cases").properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().startsWith("encode_prompt/")) out.add(new Case(e.getKey(), e.getValue()));
        }
        assertFalse(out.isEmpty(), "reference.json has encode_prompt cases");
        return out;
    }

    private static List<String> texts(JsonNode n) {
        if (n == null || n.isNull()) return null;
        List<String> l = new ArrayList<>();
        if (n.isArray()) n.forEach(x -> l.add(x.asText()));
        else l.add(n.asText());
        return l;
    }

    /** The request a case describes, with diffusers' string semantics for the optional arguments. */
    private static PromptRequest request(JsonNode a) {
        PromptRequest r = PromptRequest.of(texts(a.get("prompt")));
        JsonNode p2 = a.get("prompt_2"), n = a.get("negative_prompt"), n2 = a.get("negative_prompt_2");
        if (p2 != null && !p2.isNull()) r = p2.isArray() ? r.withPrompt2(texts(p2)) : r.withPrompt2(p2.asText());
        if (n != null && !n.isNull()) r = n.isArray() ? r.withNegativePrompt(texts(n)) : r.withNegativePrompt(n.asText());
        if (n2 != null && !n2.isNull()) r = n2.isArray() ? r.withNegativePrompt2(texts(n2)) : r.withNegativePrompt2(n2.asText());
        if (a.hasNonNull("num_images_per_prompt")) r = r.withNumImagesPerPrompt(a.get("num_images_per_prompt").asInt());
        if (a.hasNonNull("clip_skip")) r = r.withClipSkip(a.get("clip_skip").asInt());
        if (a.hasNonNull("do_classifier_free_guidance")) r = r.withClassifierFreeGuidance(a.get("do_classifier_free_guidance").asBoolean());
        return r;
    }

    private static SdxlPromptEncoder encoderFor(Case c) {
        if (c.model().equals("sdxl-base")) return BASE;
        if (c.model().equals("sdxl-refiner")) return REFINER;
        return SdxlPromptEncoder.load(Fixtures.path(c.model()), BACKEND);
    }

    private static final String[] OUTPUTS = {"prompt_embeds", "negative_prompt_embeds", "pooled_prompt_embeds", "negative_pooled_prompt_embeds"};

    private static Tensor output(PromptEmbeddings e, int i) {
        return switch (i) {
            case 0 -> e.promptEmbeds();
            case 1 -> e.negativePromptEmbeds();
            case 2 -> e.pooledPromptEmbeds();
            default -> e.negativePooledPromptEmbeds();
        };
    }

    @Test
    void everyEncodePromptCaseMatchesDiffusers() {
        for (Case c : cases()) {
            PromptEmbeddings e = encoderFor(c).encode(request(c.args()));
            for (int i = 0; i < OUTPUTS.length; i++) {
                String name = c.name() + "/" + OUTPUTS[i];
                TensorAssert.Diff d = TensorAssert.assertClose(name, Fixtures.tensor(name), output(e, i), ATOL);
                System.out.println(name + ": " + d);
            }
        }
    }

    @Test
    void modelIndexDecidesZerosForTheMissingNegativePrompt() {
        assertEquals(Fixtures.readJson(Fixtures.path("sdxl-base/model_index.json")).get("force_zeros_for_empty_prompt").asBoolean(),
                BASE.forceZerosForEmptyPrompt());
        assertEquals(Fixtures.readJson(Fixtures.path("sdxl-refiner/model_index.json")).get("force_zeros_for_empty_prompt").asBoolean(),
                REFINER.forceZerosForEmptyPrompt());
        assertTrue(BASE.hasTextEncoder1());
        assertFalse(REFINER.hasTextEncoder1());
    }

    /** Rows {@code row} of several fixture tensors [B, S, D_k] side by side along the last dimension. */
    private static float[] sideBySide(int[] rows, String... names) {
        List<float[]> parts = new ArrayList<>();
        int s = -1;
        int total = 0;
        List<Integer> widths = new ArrayList<>();
        for (int k = 0; k < names.length; k++) {
            Tensor t = Fixtures.tensor(names[k]);
            s = t.dim(1);
            widths.add(t.dim(2));
            total += t.dim(2);
            parts.add(t.get(rows[k]).toFloatArray());
        }
        float[] out = new float[s * total];
        for (int i = 0; i < s; i++) {
            int at = i * total;
            for (int k = 0; k < parts.size(); k++) {
                int w = widths.get(k);
                System.arraycopy(parts.get(k), i * w, out, at, w);
                at += w;
            }
        }
        return out;
    }

    private static String fixturePrompt(int i) { return Fixtures.reference().get("tokenizer").get(i).get("prompt").asText(); }

    @Test
    void prompt2AndNegativePrompt2GoToTextEncoder2() {
        // te1/* and te2/* hold the first four tokenizer prompts; mix them across the encoders.
        PromptEmbeddings e = BASE.encode(PromptRequest.of(fixturePrompt(0)).withPrompt2(fixturePrompt(1))
                .withNegativePrompt(fixturePrompt(2)).withNegativePrompt2(fixturePrompt(3)));
        TensorAssert.assertClose("prompt embeds [te1(p0) | te2(p1)]", sideBySide(new int[] {0, 1}, "te1/penultimate", "te2/penultimate"),
                e.promptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("negative embeds [te1(p2) | te2(p3)]", sideBySide(new int[] {2, 3}, "te1/penultimate", "te2/penultimate"),
                e.negativePromptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("pooled = te2 text_embeds(p1)", Fixtures.tensor("te2/text_embeds").get(1).toFloatArray(),
                e.pooledPromptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("negative pooled = te2 text_embeds(p3)", Fixtures.tensor("te2/text_embeds").get(3).toFloatArray(),
                e.negativePooledPromptEmbeds().toFloatArray(), ATOL);
        // an empty prompt_2 string means "same as prompt" (Python's `prompt_2 or prompt`)
        PromptEmbeddings same = BASE.encode(PromptRequest.of(fixturePrompt(0)).withPrompt2("").withNegativePrompt(fixturePrompt(2)));
        TensorAssert.assertClose("prompt_2 \"\" falls back", sideBySide(new int[] {0, 0}, "te1/penultimate", "te2/penultimate"),
                same.promptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("negative_prompt_2 defaults to negative_prompt", sideBySide(new int[] {2, 2}, "te1/penultimate", "te2/penultimate"),
                same.negativePromptEmbeds().toFloatArray(), ATOL);
    }

    @Test
    void theRefinerFeedsPromptToItsOnlyEncoderAndIgnoresPrompt2() {
        // diffusers zips [prompt, prompt_2] with [text_encoder_2]: prompt_2 is not used.
        PromptEmbeddings e = REFINER.encode(PromptRequest.of(fixturePrompt(0)).withPrompt2(fixturePrompt(1))
                .withNegativePrompt(fixturePrompt(2)).withNegativePrompt2(fixturePrompt(3)));
        Path te2 = REFINER.hasTextEncoder1() ? null : Fixtures.path("sdxl-refiner/text_encoder_2");
        assertNotNull(te2);
        NaiveClip naive = new NaiveClip(te2);
        int[] p0 = REFINER.tokenizer2().encode(fixturePrompt(0)).ids(), p2 = REFINER.tokenizer2().encode(fixturePrompt(2)).ids();
        NaiveClip.Out o0 = naive.forward(p0), o2 = naive.forward(p2);
        TensorAssert.assertClose("refiner prompt embeds = te2(prompt)[-2]", NaiveClip.flat(List.<double[][]>of(o0.hidden().get(o0.hidden().size() - 2))),
                e.promptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("refiner negative = te2(negative_prompt)[-2]", NaiveClip.flat(List.<double[][]>of(o2.hidden().get(o2.hidden().size() - 2))),
                e.negativePromptEmbeds().toFloatArray(), ATOL);
        assertEquals(naive.c.hiddenSize(), e.promptEmbeds().dim(2));
        float[] pooled = new float[o0.textEmbeds().length];
        for (int i = 0; i < pooled.length; i++) pooled[i] = (float) o0.textEmbeds()[i];
        TensorAssert.assertClose("refiner pooled", pooled, e.pooledPromptEmbeds().toFloatArray(), ATOL);
    }

    @Test
    void clipSkipPicksAnEarlierLayerForThePositivePromptOnly() {
        int skip = 1;
        PromptEmbeddings e = BASE.encode(PromptRequest.of(fixturePrompt(0)).withNegativePrompt(fixturePrompt(1)).withClipSkip(skip));
        NaiveClip n1 = new NaiveClip(Fixtures.path("sdxl-base/text_encoder")), n2 = new NaiveClip(Fixtures.path("sdxl-base/text_encoder_2"));
        NaiveClip.Out a = n1.forward(BASE.tokenizer().encode(fixturePrompt(0)).ids());
        NaiveClip.Out b = n2.forward(BASE.tokenizer2().encode(fixturePrompt(0)).ids());
        double[][] h1 = a.hidden().get(a.hidden().size() - (skip + 2)), h2 = b.hidden().get(b.hidden().size() - (skip + 2));
        int s = h1.length, d1 = h1[0].length, d2 = h2[0].length;
        float[] expected = new float[s * (d1 + d2)];
        for (int i = 0; i < s; i++) {
            for (int j = 0; j < d1; j++) expected[i * (d1 + d2) + j] = (float) h1[i][j];
            for (int j = 0; j < d2; j++) expected[i * (d1 + d2) + d1 + j] = (float) h2[i][j];
        }
        TensorAssert.assertClose("clip_skip=1 prompt embeds", expected, e.promptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("clip_skip leaves pooled alone", Fixtures.tensor("te2/text_embeds").get(0).toFloatArray(),
                e.pooledPromptEmbeds().toFloatArray(), ATOL);
        TensorAssert.assertClose("clip_skip leaves the negative at [-2]", sideBySide(new int[] {1, 1}, "te1/penultimate", "te2/penultimate"),
                e.negativePromptEmbeds().toFloatArray(), ATOL);
        int tooMany = Math.min(n1.c.numHiddenLayers(), n2.c.numHiddenLayers()); // hidden_states[-(L+2)] does not exist
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> BASE.encode(PromptRequest.of("a cat").withClipSkip(tooMany)));
        assertTrue(ex.getMessage().contains("clip_skip"), ex.getMessage());
    }

    @Test
    void batchesAndImagesPerPromptKeepRowOrder() {
        // group the base cases by whether they have a negative prompt (diffusers cannot mix None and text in one batch)
        for (boolean withNegative : new boolean[] {false, true}) {
            List<Case> group = cases().stream().filter(c -> !c.refiner())
                    .filter(c -> c.args().hasNonNull("negative_prompt") == withNegative)
                    .filter(c -> !c.args().hasNonNull("num_images_per_prompt") && !c.args().hasNonNull("clip_skip"))
                    .filter(c -> c.args().get("prompt").isTextual() && !c.args().hasNonNull("prompt_2") && !c.args().hasNonNull("negative_prompt_2"))
                    .toList();
            if (group.isEmpty()) continue;
            List<String> prompts = group.stream().map(c -> c.args().get("prompt").asText()).toList();
            PromptRequest r = PromptRequest.of(prompts).withNumImagesPerPrompt(2);
            if (withNegative) r = r.withNegativePrompt(group.stream().map(c -> c.args().get("negative_prompt").asText()).toList());
            PromptEmbeddings e = BASE.encode(r);
            assertEquals(prompts.size() * 2, e.promptEmbeds().dim(0));
            for (int i = 0; i < OUTPUTS.length; i++) {
                for (int row = 0; row < prompts.size() * 2; row++) {
                    String name = group.get(row / 2).name() + "/" + OUTPUTS[i];
                    TensorAssert.assertClose(name + " as batch row " + row, Fixtures.tensor(name).get(0).toFloatArray(),
                            output(e, i).get(row).toFloatArray(), ATOL);
                }
            }
        }
    }

    @Test
    void withoutGuidanceThereIsNoNegativeBranch() {
        PromptEmbeddings e = BASE.encode(PromptRequest.of("a cat").withClassifierFreeGuidance(false));
        assertNull(e.negativePromptEmbeds());
        assertNull(e.negativePooledPromptEmbeds());
        assertNotNull(e.pooledPromptEmbeds());
    }

    @Test
    void aMissingNegativePromptIsEncodedAsEmptyTextWhenZerosAreNotForced() {
        SdxlPromptEncoder noZeros = new SdxlPromptEncoder(BASE.tokenizer(),
                CLIPTextModel.load(Fixtures.path("sdxl-base/text_encoder"), BACKEND), BASE.tokenizer2(),
                CLIPTextModelWithProjection.load(Fixtures.path("sdxl-base/text_encoder_2"), BACKEND), BACKEND, false);
        try (noZeros) {
            PromptEmbeddings none = noZeros.encode(PromptRequest.of("a cat"));
            PromptEmbeddings empty = BASE.encode(PromptRequest.of("a cat").withNegativePrompt(""));
            assertArrayEquals(empty.negativePromptEmbeds().toFloatArray(), none.negativePromptEmbeds().toFloatArray());
            assertArrayEquals(empty.negativePooledPromptEmbeds().toFloatArray(), none.negativePooledPromptEmbeds().toFloatArray());
            float[] zeros = BASE.encode(PromptRequest.of("a cat")).negativePromptEmbeds().toFloatArray();
            for (float v : zeros) assertEquals(0f, v);
            boolean anyNonZero = false;
            for (float v : empty.negativePromptEmbeds().toFloatArray()) anyNonZero |= v != 0f;
            assertTrue(anyNonZero, "the empty prompt's embedding is not zero");
        }
    }

    @Test
    void aDeclaredButMissingComponentIsAnError(@TempDir Path dir) throws IOException {
        Path base = Fixtures.path("sdxl-base");
        Files.copy(base.resolve("model_index.json"), dir.resolve("model_index.json"));
        for (String sub : List.of("tokenizer", "tokenizer_2", "text_encoder_2")) {
            Files.createDirectories(dir.resolve(sub));
            try (var files = Files.list(base.resolve(sub))) {
                for (Path f : files.toList()) Files.copy(f, dir.resolve(sub).resolve(f.getFileName()));
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SdxlPromptEncoder.load(dir, BACKEND));
        assertTrue(e.getMessage().contains("text_encoder"), e.getMessage());
    }

    @Test
    void requestsAreValidated() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PromptRequest.of(List.of("a", "b")).withNegativePrompt(List.of("x")));
        assertTrue(e.getMessage().contains("negative_prompt") && e.getMessage().contains("2 prompts"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PromptRequest.of("a").withNumImagesPerPrompt(0));
        assertTrue(e.getMessage().contains("num_images_per_prompt"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PromptRequest.of(List.of()));
        assertTrue(e.getMessage().contains("prompt"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PromptRequest.of("a").withClipSkip(-1));
        assertTrue(e.getMessage().contains("clip_skip"), e.getMessage());
        // a single negative string serves every prompt
        PromptRequest r = PromptRequest.of(List.of("a", "b")).withNegativePrompt("bad");
        assertEquals(List.of("bad", "bad"), r.negativePrompt());
    }
}
