package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.SdFixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The text side of the SD 1/2 fixture sets against transformers/diffusers: the tokenizer (SD 1 pads
 * with {@code <|endoftext|>}, SD 2 with {@code !}), the CLIPTextModel built from each set's config
 * (CLIP-L-like quick_gelu / OpenCLIP-H-like gelu), and {@code encode_prompt}, whose embedding is the
 * final-layer-normed {@code last_hidden_state} (with clip_skip k: hidden_states[-(k + 1)] through
 * final_layer_norm, the negative branch unchanged); 1e-4 as for SDXL.
 */
class SdTextEncoderFixtureTest {
    private static final double ATOL = Fixtures.tolerance(1e-4);

    @TestFactory
    Stream<DynamicTest> sdSets() {
        return SdFixtures.sets().stream().flatMap(set -> Stream.of(
                DynamicTest.dynamicTest(set + " tokenizer", () -> tokenizer(set)),
                DynamicTest.dynamicTest(set + " text encoder", () -> textEncoder(set)),
                DynamicTest.dynamicTest(set + " encode_prompt", () -> encodePrompt(set))));
    }

    private static void tokenizer(SdFixtures.Set set) {
        CLIPTokenizer tok = CLIPTokenizer.load(set.path("sd/tokenizer"));
        JsonNode cases = set.reference().get("tokenizer");
        assertTrue(cases.size() > 0, set + ": no tokenizer cases");
        for (JsonNode c : cases) {
            String prompt = c.get("prompt").asText();
            assertArrayEquals(ints(c.get("tokenizer")), tok.encode(prompt).ids(), set + " padded: " + prompt);
            assertArrayEquals(ints(c.get("untruncated")), tok.encode(prompt, Integer.MAX_VALUE, false, false).ids(),
                    set + " untruncated: " + prompt);
        }
    }

    private static void textEncoder(SdFixtures.Set set) {
        int[][] ids = ids(set.tensor("te/input_ids"));
        try (CLIPTextModel m = CLIPTextModel.load(set.path("sd/text_encoder"), Fixtures.backend())) {
            CLIPTextOutput o = m.forward(ids, true);
            System.out.println(set + " te last_hidden_state: " + TensorAssert.assertClose(set + " te last_hidden_state",
                    set.tensor("te/last_hidden_state"), o.lastHiddenState(), ATOL));
            TensorAssert.assertClose(set + " te penultimate", set.tensor("te/penultimate"), o.hiddenState(-2), ATOL);
            TensorAssert.assertClose(set + " te pooler_output", set.tensor("te/pooler_output"), o.pooledOutput(), ATOL);
        }
    }

    private static void encodePrompt(SdFixtures.Set set) {
        List<String> checked = new ArrayList<>();
        int clipSkips = 0;
        try (SdPromptEncoder enc = SdPromptEncoder.load(set.path("sd"), Fixtures.backend(), null)) {
            for (var it = set.reference().get("cases").fields(); it.hasNext(); ) {
                var e = it.next();
                if (!e.getKey().startsWith("encode_prompt/")) continue;
                JsonNode c = e.getValue();
                PromptRequest r = PromptRequest.of(c.get("prompt").asText());
                if (!c.get("negative_prompt").isNull()) r = r.withNegativePrompt(c.get("negative_prompt").asText());
                if (c.has("clip_skip")) {
                    r = r.withClipSkip(c.get("clip_skip").asInt());
                    clipSkips++;
                }
                PromptEmbeddings pe = enc.encode(r);
                TensorAssert.assertClose(set + " " + e.getKey() + " prompt_embeds", set.tensor(e.getKey() + "/prompt_embeds"), pe.promptEmbeds(), ATOL);
                TensorAssert.assertClose(set + " " + e.getKey() + " negative_prompt_embeds",
                        set.tensor(e.getKey() + "/negative_prompt_embeds"), pe.negativePromptEmbeds(), ATOL);
                assertNull(pe.pooledPromptEmbeds());
                checked.add(e.getKey());
            }
            assertTrue(checked.size() >= 3, set + ": encode_prompt cases " + checked);
            assertTrue(clipSkips >= 2, set + ": clip_skip cases (generate/add_clip_skip.py adds them) " + checked);
            IllegalArgumentException tooDeep = assertThrows(IllegalArgumentException.class,
                    () -> enc.encode(PromptRequest.of("x").withClipSkip(enc.config().numHiddenLayers() + 1)));
            assertTrue(tooDeep.getMessage().startsWith("clip_skip must be in [0, " + enc.config().numHiddenLayers() + "]"), tooDeep.getMessage());
            // two images per prompt: each prompt's rows consecutive, as diffusers' repeat + view
            PromptEmbeddings two = enc.encode(PromptRequest.of(List.of("a purple octopus", "a red gummy bear")).withNumImagesPerPrompt(2));
            assertEquals(4, two.promptEmbeds().dim(0));
            float[] rows = two.promptEmbeds().toFloatArray();
            int row = rows.length / 4;
            assertArrayEquals(java.util.Arrays.copyOfRange(rows, 0, row), java.util.Arrays.copyOfRange(rows, row, 2 * row));
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> enc.encode(PromptRequest.of("x").withPrompt2("y")));
            assertTrue(ex.getMessage().startsWith("prompt_2 is an SDXL setting"), ex.getMessage());
        }
    }

    static int[][] ids(Tensor t) {
        int b = t.dim(0), s = t.dim(1);
        float[] f = t.toFloatArray();
        int[][] ids = new int[b][s];
        for (int i = 0; i < b; i++) for (int j = 0; j < s; j++) ids[i][j] = Math.round(f[i * s + j]);
        return ids;
    }

    private static int[] ints(JsonNode a) {
        int[] r = new int[a.size()];
        for (int i = 0; i < r.length; i++) r[i] = a.get(i).asInt();
        return r;
    }
}
