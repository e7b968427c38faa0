package io.jdiffusion.text;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CLIP's byte-level BPE tokenizer as transformers 5 builds it from a {@code tokenizer/} folder
 * (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json), spec §1:
 *
 * <ol>
 *   <li>special-token strings are cut out of the raw text first (leftmost, longest match), so a
 *       typed {@code <|endoftext|>} is id 49407, and in SDXL's {@code tokenizer_2}, whose pad token
 *       is {@code "!"}, every "!" becomes id 0 and splits the word around it (§1.5);</li>
 *   <li>the rest is normalised per piece: Unicode NFC, runs of whitespace to one space, lowercase
 *       (no ftfy, no HTML unescaping, as in transformers' tokenizers-backed CLIPTokenizer);</li>
 *   <li>special tokens marked {@code normalized: true} are then cut out of the normalised text;</li>
 *   <li>pre-tokenisation keeps only the matches of {@link #PRE_TOKENIZER} (whitespace is dropped);</li>
 *   <li>each pre-token goes through {@link Bpe};</li>
 *   <li>framing {@code [BOS] content [EOS]}, truncation of the content to {@code maxLength - 2}
 *       (logged as a warning and reported on {@link Tokens}), right padding with the folder's own
 *       pad token ({@code <|endoftext|>} = 49407 for tokenizer, {@code !} = 0 for tokenizer_2).</li>
 * </ol>
 * Immutable and thread-safe.
 */
public final class CLIPTokenizer {
    private static final Logger LOG = LoggerFactory.getLogger(CLIPTokenizer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** transformers 5's CLIP pre-tokenizer regex; \s, \p{L}, \p{N} with Unicode semantics as in Oniguruma. */
    static final Pattern PRE_TOKENIZER = Pattern.compile(
            "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
            Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);

    /** transformers' CLIPTokenizer defaults, used only when a folder's files do not name a token. */
    private static final String DEFAULT_BOS = "<|startoftext|>", DEFAULT_EOS = "<|endoftext|>";
    /** CLIP's context length; the default when tokenizer_config.json has no model_max_length. */
    private static final int DEFAULT_MAX_LENGTH = 77;

    /** A string that is never split or normalised into pieces: matched whole and mapped to one id. */
    public record SpecialToken(String content, int id, boolean normalized) {}

    private record Match(String text, int id) {}

    private final String origin;
    private final String[] idToToken;
    private final Bpe bpe;
    private final int bosId, eosId, padId;
    private final int modelMaxLength;
    private final List<SpecialToken> specialTokens;
    /** Special strings matched in the raw text, and (normalized: true) in the normalised text. */
    private final List<Match> rawSpecials, normalizedSpecials;
    private final boolean[] isSpecial;

    private CLIPTokenizer(String origin, Map<String, Integer> vocab, List<String> merges, JsonNode config) {
        this.origin = origin;
        Map<String, Integer> allTokens = new HashMap<>(vocab);
        // added_tokens_decoder (transformers >= 4.34 configs): id -> {content, normalized, special}
        Map<String, JsonNode> declared = new LinkedHashMap<>();
        JsonNode added = config.path("added_tokens_decoder");
        for (Iterator<Map.Entry<String, JsonNode>> it = added.properties().iterator(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String content = e.getValue().path("content").asText(null);
            if (content == null) throw new IllegalArgumentException(origin + ": added_tokens_decoder entry " + e.getKey() + " has no content");
            int id;
            try {
                id = Integer.parseInt(e.getKey());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException(origin + ": added_tokens_decoder key '" + e.getKey() + "' is not a token id");
            }
            Integer old = allTokens.putIfAbsent(content, id);
            if (old != null && old != id) {
                throw new IllegalArgumentException(origin + ": added token '" + content + "' has id " + id + " but the vocabulary says " + old);
            }
            declared.put(content, e.getValue());
        }
        int maxId = allTokens.values().stream().mapToInt(Integer::intValue).max().orElse(-1);
        idToToken = new String[maxId + 1];
        for (Map.Entry<String, Integer> e : allTokens.entrySet()) {
            if (e.getValue() < 0) throw new IllegalArgumentException(origin + ": negative id " + e.getValue() + " for '" + e.getKey() + "'");
            idToToken[e.getValue()] = e.getKey();
        }
        this.bpe = new Bpe(vocab, merges, origin);

        // The special tokens: bos/eos/unk/pad, additional_special_tokens and added_tokens_decoder.
        Map<String, Boolean> specials = new LinkedHashMap<>();
        String bos = tokenContent(config.get("bos_token"), DEFAULT_BOS, specials);
        String eos = tokenContent(config.get("eos_token"), DEFAULT_EOS, specials);
        tokenContent(config.get("unk_token"), DEFAULT_EOS, specials);
        String pad = tokenContent(config.get("pad_token"), DEFAULT_EOS, specials);
        for (JsonNode t : config.path("additional_special_tokens")) tokenContent(t, null, specials);
        for (Map.Entry<String, JsonNode> e : declared.entrySet()) {
            specials.putIfAbsent(e.getKey(), e.getValue().path("normalized").asBoolean(false));
        }
        List<SpecialToken> declaredSpecials = new ArrayList<>();
        List<Match> raw = new ArrayList<>(), norm = new ArrayList<>();
        this.isSpecial = new boolean[idToToken.length];
        for (Map.Entry<String, Boolean> e : specials.entrySet()) {
            Integer id = allTokens.get(e.getKey());
            if (id == null) throw new IllegalArgumentException(origin + ": special token '" + e.getKey() + "' is not in vocab.json");
            declaredSpecials.add(new SpecialToken(e.getKey(), id, e.getValue()));
            isSpecial[id] = true;
            // tokenizers matches a normalized token by its own normalised content, in normalised text.
            if (e.getValue()) norm.add(new Match(normalize(e.getKey()), id));
            else raw.add(new Match(e.getKey(), id));
        }
        // Longest first, so that at one position the longest special string wins.
        Comparator<Match> longestFirst = Comparator.comparingInt((Match t) -> t.text().length()).reversed();
        raw.sort(longestFirst);
        norm.sort(longestFirst);
        this.specialTokens = List.copyOf(declaredSpecials);
        this.rawSpecials = List.copyOf(raw);
        this.normalizedSpecials = List.copyOf(norm);
        this.bosId = allTokens.get(bos);
        this.eosId = allTokens.get(eos);
        this.padId = allTokens.get(pad);

        JsonNode max = config.get("model_max_length");
        if (max == null || max.isNull()) {
            modelMaxLength = DEFAULT_MAX_LENGTH;
        } else {
            if (!max.isNumber() || max.asDouble() < 2) {
                throw new IllegalArgumentException(origin + ": model_max_length " + max + " is not a number >= 2");
            }
            // Some configs write 1e30 for "unbounded"; clamp instead of overflowing.
            modelMaxLength = (int) Math.min(Integer.MAX_VALUE, max.asDouble());
        }
    }

    /** A token entry as a plain string or an AddedToken object {content, normalized, ...}; registered as special. */
    private static String tokenContent(JsonNode node, String fallback, Map<String, Boolean> specials) {
        String content;
        boolean normalized;
        if (node == null || node.isNull()) {
            if (fallback == null) return null;
            content = fallback;
            normalized = false;
        } else if (node.isTextual()) {
            // transformers makes special tokens given as strings AddedToken(special=True), i.e. not normalised.
            content = node.asText();
            normalized = false;
        } else if (node.isObject() && node.path("content").isTextual()) {
            content = node.get("content").asText();
            normalized = node.path("normalized").asBoolean(false);
        } else {
            throw new IllegalArgumentException("special token entry " + node + " is neither a string nor {\"content\": ...}");
        }
        specials.putIfAbsent(content, normalized);
        return content;
    }

    /**
     * Loads a tokenizer folder ({@code tokenizer/} or {@code tokenizer_2/} of a diffusers model):
     * vocab.json and merges.txt are required; tokenizer_config.json and special_tokens_map.json are
     * read when present, the latter taking precedence as in transformers.
     */
    public static CLIPTokenizer load(Path folder) {
        Path vocabFile = folder.resolve("vocab.json"), mergesFile = folder.resolve("merges.txt");
        for (Path p : List.of(vocabFile, mergesFile)) {
            if (!Files.isRegularFile(p)) {
                throw new IllegalArgumentException("tokenizer folder " + folder + " has no " + p.getFileName()
                        + " (a CLIP tokenizer needs vocab.json and merges.txt)");
            }
        }
        try {
            Map<String, Integer> vocab = JSON.readValue(vocabFile.toFile(), new TypeReference<LinkedHashMap<String, Integer>>() {});
            List<String> merges = new ArrayList<>();
            for (String line : Files.readAllLines(mergesFile, StandardCharsets.UTF_8)) {
                if (line.startsWith("#version") && merges.isEmpty()) continue;
                if (line.isBlank()) continue;
                merges.add(line);
            }
            ObjectNode config = JSON.createObjectNode();
            Path tc = folder.resolve("tokenizer_config.json"), stm = folder.resolve("special_tokens_map.json");
            if (Files.isRegularFile(tc)) config.setAll((ObjectNode) JSON.readTree(tc.toFile()));
            if (Files.isRegularFile(stm)) config.setAll((ObjectNode) JSON.readTree(stm.toFile()));
            return new CLIPTokenizer(folder.toString(), vocab, merges, config);
        } catch (IOException e) {
            throw new UncheckedIOException("reading tokenizer folder " + folder, e);
        } catch (ClassCastException e) {
            throw new IllegalArgumentException("tokenizer folder " + folder + ": a config file is not a JSON object", e);
        }
    }

    // ---- properties ----------------------------------------------------------------------------

    public int bosTokenId() { return bosId; }

    public int eosTokenId() { return eosId; }

    public int padTokenId() { return padId; }

    /** tokenizer_config.json's model_max_length (77 for SDXL): the length diffusers pads and truncates to. */
    public int modelMaxLength() { return modelMaxLength; }

    public int vocabSize() { return idToToken.length; }

    /** The special strings matched whole in prompts (bos, eos, unk, pad and any declared extra). */
    public List<SpecialToken> specialTokens() { return specialTokens; }

    /** The token string of an id ("a</w>", "<|endoftext|>"). */
    public String token(int id) {
        if (id < 0 || id >= idToToken.length || idToToken[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary of " + origin);
        }
        return idToToken[id];
    }

    // ---- encoding ------------------------------------------------------------------------------

    /** What diffusers asks for: padded to model_max_length, truncated to it. */
    public Tokens encode(String text) { return encode(text, modelMaxLength, true, true); }

    /** {@link #encode(String)} for each prompt. */
    public List<Tokens> encodeAll(List<String> texts) { return texts.stream().map(this::encode).toList(); }

    /**
     * Tokenises {@code text} as {@code [BOS] content [EOS]}; with {@code truncate} the content is cut to
     * {@code maxLength - 2} tokens (a warning is logged and the cut-off part is on the result); with
     * {@code padToMaxLength} the ids are right-padded with the pad token to {@code maxLength}.
     */
    public Tokens encode(String text, int maxLength, boolean padToMaxLength, boolean truncate) {
        if (text == null) throw new IllegalArgumentException("text must not be null (use \"\" for an empty prompt)");
        if ((truncate || padToMaxLength) && maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be >= 2 (room for BOS and EOS), got " + maxLength);
        }
        int[] content = tokenize(text);
        int[] dropped = new int[0];
        if (truncate && content.length > maxLength - 2) {
            dropped = Arrays.copyOfRange(content, maxLength - 2, content.length);
            content = Arrays.copyOf(content, maxLength - 2);
        }
        int len = content.length + 2;
        int[] ids = new int[padToMaxLength ? Math.max(len, maxLength) : len];
        ids[0] = bosId;
        System.arraycopy(content, 0, ids, 1, content.length);
        ids[content.length + 1] = eosId;
        Arrays.fill(ids, len, ids.length, padId);
        String droppedText = dropped.length == 0 ? "" : decode(dropped, false);
        if (dropped.length > 0) {
            // diffusers' wording, so users recognise it.
            LOG.warn("The following part of your input was truncated because CLIP can only handle sequences up to {} tokens: {}",
                    maxLength, droppedText);
        }
        return new Tokens(ids, dropped, droppedText);
    }

    /** The content ids of {@code text}: no BOS/EOS, no truncation, no padding. */
    public int[] tokenize(String text) {
        IntList out = new IntList(Math.max(8, text.length() / 3));
        splitSpecial(text, rawSpecials, out, (piece, o) -> {
            String normalized = normalize(piece);
            splitSpecial(normalized, normalizedSpecials, o, this::bpeSegment);
        });
        return out.toArray();
    }

    /** transformers 5's CLIP normaliser: NFC, whitespace runs to one space, lowercase (per character). */
    static String normalize(String text) {
        String s = Normalizer.normalize(text, Normalizer.Form.NFC);
        s = WHITESPACE.matcher(s).replaceAll(" ");
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            // Rust's char::to_lowercase (what tokenizers uses) has one unconditional multi-character
            // mapping that Java's per-code-point lowering lacks: U+0130 → "i̇".
            if (cp == 0x130) sb.append("i\u0307");
            else sb.appendCodePoint(Character.toLowerCase(cp));
        }
        return sb.toString();
    }

    private void bpeSegment(String segment, IntList out) {
        Matcher m = PRE_TOKENIZER.matcher(segment);
        while (m.find()) {
            String word = m.group();
            if (word.startsWith("<|") && (word.equals("<|startoftext|>") || word.equals("<|endoftext|>"))) {
                // The pre-tokenizer's second stage, ByteLevel(use_regex=True), splits every piece again
                // with GPT-2's regex. On letter runs, single digits, punctuation runs and contractions that
                // is the identity; only these two alternatives (reached when the text spells a special
                // token that was not matched as one, e.g. in capitals) come apart into "<|", name, "|>".
                out.addAll(bpe.encodeWord("<|"));
                out.addAll(bpe.encodeWord(word.substring(2, word.length() - 2)));
                out.addAll(bpe.encodeWord("|>"));
            } else {
                out.addAll(bpe.encodeWord(word));
            }
        }
    }

    private interface Segment { void accept(String text, IntList out); }

    /** Cuts {@code text} at special-token matches (leftmost, then longest), emitting their ids; the rest goes to {@code plain}. */
    private static void splitSpecial(String text, List<Match> specials, IntList out, Segment plain) {
        if (specials.isEmpty()) {
            if (!text.isEmpty()) plain.accept(text, out);
            return;
        }
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            Match hit = null;
            for (Match t : specials) {
                if (text.startsWith(t.text(), i)) {
                    hit = t; // list is longest first
                    break;
                }
            }
            if (hit == null) continue;
            if (i > start) plain.accept(text.substring(start, i), out);
            out.add(hit.id());
            i += hit.text().length() - 1;
            start = i + 1;
        }
        if (start < text.length()) plain.accept(text.substring(start), out);
    }

    // ---- decoding ------------------------------------------------------------------------------

    /**
     * Ids back to text like transformers' CLIP decode: token strings joined, byte-level decoded,
     * "</w>" turned into a space, trimmed.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            if (skipSpecialTokens && id >= 0 && id < isSpecial.length && isSpecial[id]) continue;
            sb.append(token(id));
        }
        return ByteLevel.decode(sb).replace(Bpe.END_OF_WORD, " ").strip();
    }

    @Override
    public String toString() {
        return "CLIPTokenizer[" + origin + ", " + idToToken.length + " tokens, " + bpe.mergeCount() + " merges, pad "
                + padId + ", max length " + modelMaxLength + "]";
    }

    /** A growable int array (no boxing in the hot loop). */
    static final class IntList {
        private int[] a;
        private int n;

        IntList(int capacity) { a = new int[Math.max(1, capacity)]; }

        void add(int v) {
            if (n == a.length) a = Arrays.copyOf(a, a.length * 2);
            a[n++] = v;
        }

        void addAll(int[] v) {
            if (n + v.length > a.length) a = Arrays.copyOf(a, Math.max(a.length * 2, n + v.length));
            System.arraycopy(v, 0, a, n, v.length);
            n += v.length;
        }

        int[] toArray() { return Arrays.copyOf(a, n); }
    }
}
