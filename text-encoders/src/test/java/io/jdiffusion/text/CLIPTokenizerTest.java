package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class CLIPTokenizerTest {
    private static final CLIPTokenizer T1 = CLIPTokenizer.load(Fixtures.path("sdxl-base/tokenizer"));
    private static final CLIPTokenizer T2 = CLIPTokenizer.load(Fixtures.path("sdxl-base/tokenizer_2"));

    private static int[] ints(JsonNode arr) {
        int[] a = new int[arr.size()];
        for (int i = 0; i < a.length; i++) a[i] = arr.get(i).asInt();
        return a;
    }

    @Test
    void everyFixturePromptMatchesBothTokenizersPaddedAndUntruncated() {
        JsonNode cases = Fixtures.reference().get("tokenizer");
        assertTrue(cases.size() > 0, "reference.json has tokenizer cases");
        for (JsonNode c : cases) {
            String prompt = c.get("prompt").asText();
            assertArrayEquals(ints(c.get("tokenizer")), T1.encode(prompt).ids(), "tokenizer, padded: " + prompt);
            assertArrayEquals(ints(c.get("tokenizer_2")), T2.encode(prompt).ids(), "tokenizer_2, padded: " + prompt);
            // "untruncated" is tokenizer's padding="longest" call diffusers uses to detect truncation.
            assertArrayEquals(ints(c.get("untruncated")), T1.encode(prompt, T1.modelMaxLength(), false, false).ids(),
                    "tokenizer, untruncated: " + prompt);
            // tokenizer_2 untruncated agrees with its padded form up to the cut (no separate fixture for it).
            int[] u2 = T2.encode(prompt, T2.modelMaxLength(), false, false).ids();
            int[] p2 = ints(c.get("tokenizer_2"));
            int max = T2.modelMaxLength();
            if (u2.length <= max) {
                assertArrayEquals(u2, Arrays.copyOf(p2, u2.length), "tokenizer_2 untruncated prefix: " + prompt);
                for (int i = u2.length; i < max; i++) assertEquals(T2.padTokenId(), p2[i], "tokenizer_2 padding: " + prompt);
            } else {
                assertArrayEquals(Arrays.copyOf(u2, max - 1), Arrays.copyOf(p2, max - 1), "tokenizer_2 truncated prefix: " + prompt);
                assertEquals(T2.eosTokenId(), p2[max - 1]);
            }
        }
    }

    @Test
    void padTokensComeFromEachFolder() {
        String pad1 = content(Fixtures.readJson(Fixtures.path("sdxl-base/tokenizer/special_tokens_map.json")).get("pad_token"));
        String pad2 = content(Fixtures.readJson(Fixtures.path("sdxl-base/tokenizer_2/special_tokens_map.json")).get("pad_token"));
        assertEquals(pad1, T1.token(T1.padTokenId()));
        assertEquals(pad2, T2.token(T2.padTokenId()));
        assertEquals(T1.modelMaxLength(), Fixtures.readJson(Fixtures.path("sdxl-base/tokenizer/tokenizer_config.json")).get("model_max_length").asInt());
    }

    /** A token entry: a plain string or an AddedToken object. */
    private static String content(JsonNode token) { return token.isTextual() ? token.asText() : token.get("content").asText(); }

    /** The repository's own copy of the SDXL tokenizer files (the real CLIP vocabulary), whatever SDXL_FIXTURES says. */
    private static CLIPTokenizer repoTokenizer(String name) {
        return CLIPTokenizer.load(Fixtures.testdata().resolve("tiny-sdxl/sdxl-base").resolve(name));
    }

    private static int[] content(CLIPTokenizer t, String s) { return t.tokenize(s); }

    @Test
    void specExamples() {
        CLIPTokenizer t1 = repoTokenizer("tokenizer"), t2 = repoTokenizer("tokenizer_2");
        // spec §1.4, run-verified against OpenAI's tokenizer
        assertArrayEquals(new int[] {49406, 320, 1125, 539, 550, 18376, 6765, 320, 4558, 525, 7496, 49407},
                t1.encode("a photo of an astronaut riding a horse on mars", 77, false, true).ids());
        assertArrayEquals(new int[] {49406, 3306, 267, 1002, 748, 585, 568, 273, 271, 273, 275, 269, 49407},
                t1.encode("Hello, World!! it's 2024.", 77, false, true).ids());
        assertArrayEquals(new int[] {256, 748, 995}, content(t1, "! !! !!!"));
        // spec §1.5: tokenizer_2 pads with "!", which is a special token there: every "!" is id 0 and splits words
        assertArrayEquals(new int[] {0, 0, 0, 0, 0, 0}, content(t2, "! !! !!!"));
        assertArrayEquals(new int[] {3306, 0, 1002}, content(t2, "hello!world"));
        assertArrayEquals(new int[] {3306, 256, 1002}, content(t1, "hello!world"));
        // typed special strings map to their ids directly, in both
        assertArrayEquals(new int[] {49406, 3306, 49407}, content(t1, "<|startoftext|>hello<|endoftext|>"));
        assertArrayEquals(new int[] {49406, 3306, 49407}, content(t2, "<|startoftext|>hello<|endoftext|>"));
        // spelled in capitals they are not special tokens (matched case-sensitively before lowercasing) but text,
        // which the ByteLevel stage splits like GPT-2: "<|", "endoftext", "|>"
        int[] caps = content(t1, "<|ENDOFTEXT|>");
        assertFalse(Arrays.stream(caps).anyMatch(i -> i == 49407), Arrays.toString(caps));
        assertArrayEquals(content(t1, "<| endoftext |>"), caps);
    }

    @Test
    void vocabularyFollowsTheByteLevelConstructionOfSpec11() {
        CLIPTokenizer t = repoTokenizer("tokenizer");
        // ids 0..255: printable bytes first, then the 68 remapped ones; 256..511 the same with </w>
        List<Integer> order = new ArrayList<>();
        for (int b = 0; b < 256; b++) if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174)) order.add(b);
        for (int b = 0; b < 256; b++) if (!order.contains(b)) order.add(b);
        for (int i = 0; i < 256; i++) {
            String ch = String.valueOf(ByteLevel.charOf(order.get(i)));
            assertEquals(ch, t.token(i), "id " + i);
            assertEquals(ch + "</w>", t.token(256 + i), "id " + (256 + i));
        }
        assertEquals('\u0100', ByteLevel.charOf(0));
        assertEquals('\u0120', ByteLevel.charOf(' '));
        assertEquals('\u00ff', ByteLevel.charOf(255));
        assertEquals(49406, t.bosTokenId());
        assertEquals(49407, t.eosTokenId());
        assertEquals(49408, t.vocabSize());
    }

    @Test
    void normalisationIsNfcWhitespaceAndLowercase() {
        assertEquals(" a b c ", CLIPTokenizer.normalize("\tA\u00a0 B\n\u3000c "));
        assertEquals("caf\u00e9", CLIPTokenizer.normalize("CAFE\u0301")); // NFC composes e + combining acute, then lowercases
        assertEquals("i\u0307", CLIPTokenizer.normalize("\u0130"));       // tokenizers' full lowercase of İ
        assertArrayEquals(T1.tokenize("café"), T1.tokenize("cafe\u0301"));
        assertArrayEquals(T1.tokenize("a photo"), T1.tokenize("  A\t\tPHOTO \n"));
    }

    @Test
    void truncationIsLoggedAndReportsTheDroppedText() {
        String words = "a very long prompt that keeps going";
        String prompt = words;
        while (T1.tokenize(prompt).length <= T1.modelMaxLength()) prompt += " " + words;
        PrintStream old = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        Tokens t;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            t = T1.encode(prompt);
        } finally {
            System.setErr(old);
        }
        int max = T1.modelMaxLength();
        int[] all = T1.tokenize(prompt);
        assertTrue(all.length > max - 2, "the prompt is longer than the context");
        assertEquals(max, t.length());
        assertTrue(t.truncated());
        assertEquals(all.length - (max - 2), t.droppedIds().length);
        assertArrayEquals(Arrays.copyOfRange(all, max - 2, all.length), t.droppedIds());
        assertEquals(T1.eosTokenId(), t.ids()[max - 1]);
        // what was kept and what was dropped make up the prompt again
        String kept = T1.decode(t.ids(), true);
        assertEquals(prompt, kept + " " + t.droppedText());
        assertTrue(captured.toString(StandardCharsets.UTF_8).contains("truncated because CLIP can only handle sequences up to " + max
                + " tokens: " + t.droppedText()), "warning logged, got: " + captured);

        Tokens shortOne = T1.encode("a purple octopus");
        assertFalse(shortOne.truncated());
        assertEquals("", shortOne.droppedText());
    }

    @Test
    void decodeRoundTripsText() {
        String s = "Café Crème   東京 🐙";
        assertEquals("café crème 東京 🐙", T1.decode(T1.encode(s, 77, false, false).ids(), true));
        assertEquals("<|startoftext|>a cat <|endoftext|>", T1.decode(T1.encode("a cat", 77, false, true).ids(), false));
    }

    @Test
    void handMadeVocabularyMergesByRankAndHonoursNormalizedSpecials(@TempDir Path dir) throws IOException {
        // A byte-level vocabulary (ids 0..511 as CLIP's), plus merges with chosen ranks.
        StringBuilder vocab = new StringBuilder("{");
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) tokens.add(String.valueOf(ByteLevel.charOf(b)));
        for (int b = 0; b < 256; b++) tokens.add(ByteLevel.charOf(b) + "</w>");
        // rank 0: "b c</w>", rank 1: "a b", rank 2: "a bc</w>" — "abc" must become "a" + "bc</w>" then "abc</w>"
        tokens.addAll(List.of("bc</w>", "ab", "abc</w>", "<s>", "</s>", "<X>"));
        for (int i = 0; i < tokens.size(); i++) {
            if (i > 0) vocab.append(',');
            vocab.append(com.fasterxml.jackson.databind.node.TextNode.valueOf(tokens.get(i))).append(':').append(i);
        }
        vocab.append('}');
        Files.writeString(dir.resolve("vocab.json"), vocab);
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\nb c</w>\na b\na bc</w>\n");
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "</s>", "unk_token": "</s>", "model_max_length": 6,
                 "additional_special_tokens": [{"content": "<X>", "normalized": true}]}""");
        CLIPTokenizer t = CLIPTokenizer.load(dir);
        int abc = tokens.indexOf("abc</w>"), ab = tokens.indexOf("ab"), x = tokens.indexOf("<X>");
        assertArrayEquals(new int[] {abc}, t.tokenize("abc"));
        // "abd": only "a b" applies → "ab", "d</w>"
        assertArrayEquals(new int[] {ab, tokens.indexOf("d</w>")}, t.tokenize("abd"));
        // normalized special: matched after lowercasing, so "<x>" typed in capitals too
        assertArrayEquals(new int[] {abc, x, abc}, t.tokenize("ABC<X>abc"));
        Tokens enc = t.encode("abc abc abc abc abc");
        assertEquals(6, enc.length());
        assertArrayEquals(new int[] {tokens.indexOf("<s>"), abc, abc, abc, abc, tokens.indexOf("</s>")}, enc.ids());
        assertEquals("abc", enc.droppedText());
        Tokens padded = t.encode("abd");
        assertArrayEquals(new int[] {tokens.indexOf("<s>"), ab, tokens.indexOf("d</w>"), tokens.indexOf("</s>"),
                tokens.indexOf("</s>"), tokens.indexOf("</s>")}, padded.ids());
    }

    @Test
    void badInputIsRefusedWithClearMessages(@TempDir Path dir) throws IOException {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.load(dir));
        assertTrue(e.getMessage().contains("vocab.json"), e.getMessage());
        Files.writeString(dir.resolve("vocab.json"), "{\"a\": 0}");
        Files.writeString(dir.resolve("merges.txt"), "#version: 0.2\n");
        e = assertThrows(IllegalArgumentException.class, () -> CLIPTokenizer.load(dir));
        assertTrue(e.getMessage().contains("byte-level character"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> T1.encode("x", 1, true, true));
        assertTrue(e.getMessage().contains("maxLength"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> T1.encode((String) null));
        assertThrows(IllegalArgumentException.class, () -> T1.token(T1.vocabSize()));
    }
}
