package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * diffusers' {@code StableDiffusionXLPipeline.encode_prompt} (spec §2.3–§2.4), also what the
 * img2img/inpaint/refiner pipelines call:
 * <ul>
 *   <li>each encoder gets its tokenizer's ids (padded/truncated to model_max_length) and
 *       contributes {@code hidden_states[-2]} ({@code [-(clip_skip+2)]} for the positive prompt);
 *       the contributions are concatenated along features: [CLIP-L | bigG];</li>
 *   <li>the pooled vector is text_encoder_2's projected {@code text_embeds};</li>
 *   <li>without {@code text_encoder} (the refiner) only text_encoder_2 runs, and it is fed
 *       {@code prompt} (diffusers zips [prompt, prompt_2] with the one encoder, so prompt_2 and
 *       negative_prompt_2 are not used);</li>
 *   <li>negative branch: all zeros when negative_prompt is None and the model's
 *       {@code force_zeros_for_empty_prompt} is set; otherwise negative_prompt (None → "") and
 *       negative_prompt_2 (default: negative_prompt) are encoded like the prompt, padded to the
 *       positive embedding's length;</li>
 *   <li>rows repeated {@code num_images_per_prompt} times per prompt.</li>
 * </ul>
 */
public final class SdxlPromptEncoder implements PromptEncoder {
    private final CLIPTokenizer tokenizer;
    private final CLIPTextModel textEncoder;
    private final CLIPTokenizer tokenizer2;
    private final CLIPTextModelWithProjection textEncoder2;
    private final boolean forceZerosForEmptyPrompt;
    private final Backend backend;

    /**
     * @param tokenizer   SDXL's {@code tokenizer} (null together with textEncoder for the refiner)
     * @param textEncoder SDXL's {@code text_encoder}, CLIP-L
     * @param tokenizer2  {@code tokenizer_2}
     * @param textEncoder2 {@code text_encoder_2}, OpenCLIP bigG with projection
     * @param forceZerosForEmptyPrompt model_index.json's {@code force_zeros_for_empty_prompt}
     */
    public SdxlPromptEncoder(CLIPTokenizer tokenizer, CLIPTextModel textEncoder, CLIPTokenizer tokenizer2,
                             CLIPTextModelWithProjection textEncoder2, Backend backend, boolean forceZerosForEmptyPrompt) {
        if ((tokenizer == null) != (textEncoder == null)) {
            throw new IllegalArgumentException("tokenizer and text_encoder come together: got "
                    + (tokenizer == null ? "no tokenizer" : "a tokenizer") + " and " + (textEncoder == null ? "no text_encoder" : "a text_encoder"));
        }
        if (tokenizer2 == null || textEncoder2 == null) throw new IllegalArgumentException("SDXL needs tokenizer_2 and text_encoder_2");
        if (backend == null) throw new IllegalArgumentException("backend is null");
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
        this.tokenizer2 = tokenizer2;
        this.textEncoder2 = textEncoder2;
        this.backend = backend;
        this.forceZerosForEmptyPrompt = forceZerosForEmptyPrompt;
    }

    /**
     * Loads the text side of a diffusers SDXL folder: model_index.json (force_zeros_for_empty_prompt,
     * default true as in the pipelines), tokenizer/ + text_encoder/ when the model has them,
     * tokenizer_2/ + text_encoder_2/. {@code variant} picks model.&lt;variant&gt;.safetensors (null: model.safetensors).
     */
    public static SdxlPromptEncoder load(Path modelFolder, Backend backend, String variant) {
        return load(modelFolder, backend, variant, java.util.function.UnaryOperator.identity(), java.util.function.UnaryOperator.identity());
    }

    /** As {@link #load(Path, Backend, String)}, each text encoder's weights passed through its decorator (e.g. LoRA layers fused in). */
    public static SdxlPromptEncoder load(Path modelFolder, Backend backend, String variant,
                                         java.util.function.UnaryOperator<io.jdiffusion.tensor.weights.WeightSource> te1Weights,
                                         java.util.function.UnaryOperator<io.jdiffusion.tensor.weights.WeightSource> te2Weights) {
        JsonNode index = readIndex(modelFolder);
        boolean forceZeros = index.path("force_zeros_for_empty_prompt").asBoolean(true);
        CLIPTokenizer tok1 = null;
        CLIPTextModel te1 = null;
        if (component(index, modelFolder, "text_encoder") && component(index, modelFolder, "tokenizer")) {
            tok1 = CLIPTokenizer.load(modelFolder.resolve("tokenizer"));
            te1 = CLIPTextModel.load(modelFolder.resolve("text_encoder"), backend, variant, te1Weights);
        }
        if (!component(index, modelFolder, "text_encoder_2") || !component(index, modelFolder, "tokenizer_2")) {
            if (te1 != null) te1.close();
            throw new IllegalArgumentException(modelFolder + " has no text_encoder_2/tokenizer_2 (an SDXL model needs them)");
        }
        try {
            CLIPTokenizer tok2 = CLIPTokenizer.load(modelFolder.resolve("tokenizer_2"));
            CLIPTextModelWithProjection te2 = CLIPTextModelWithProjection.load(modelFolder.resolve("text_encoder_2"), backend, variant, te2Weights);
            return new SdxlPromptEncoder(tok1, te1, tok2, te2, backend, forceZeros);
        } catch (RuntimeException e) {
            if (te1 != null) te1.close();
            throw e;
        }
    }

    public static SdxlPromptEncoder load(Path modelFolder, Backend backend) { return load(modelFolder, backend, null); }

    private static JsonNode readIndex(Path modelFolder) {
        Path p = modelFolder.resolve("model_index.json");
        if (!Files.isRegularFile(p)) return new ObjectMapper().createObjectNode();
        try {
            return new ObjectMapper().readTree(p.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + p, e);
        }
    }

    /**
     * Whether the model has the component: declared in model_index.json (not [null, null]), whose
     * folder must then exist; without a model_index.json entry, whether the folder exists.
     */
    private static boolean component(JsonNode index, Path folder, String name) {
        JsonNode decl = index.get(name);
        boolean exists = Files.isDirectory(folder.resolve(name));
        if (decl == null) return exists;
        boolean declared = decl.isArray() && decl.size() == 2 && !decl.get(0).isNull() && !decl.get(1).isNull();
        if (declared && !exists) {
            throw new IllegalArgumentException(folder + "/model_index.json declares " + name + " " + decl + " but there is no folder " + name + "/");
        }
        return declared;
    }

    public boolean forceZerosForEmptyPrompt() { return forceZerosForEmptyPrompt; }

    /** False for the refiner layout (text_encoder_2 only). */
    public boolean hasTextEncoder1() { return textEncoder != null; }

    public CLIPTokenizer tokenizer() { return tokenizer; }

    public CLIPTokenizer tokenizer2() { return tokenizer2; }

    /** encode_prompt with the request's prompts and settings. */
    public PromptEmbeddings encode(PromptRequest r) {
        int batch = r.batchSize();
        int n = r.numImagesPerPrompt();
        try (Backend.Scope scope = backend.openScope()) {
            // diffusers zips [prompt, prompt_2] with the encoders: the refiner's only encoder gets prompt.
            List<List<String>> texts = hasTextEncoder1()
                    ? List.of(r.prompt(), r.prompt2() != null ? r.prompt2() : r.prompt())
                    : List.of(r.prompt());
            int hiddenIndex = r.clipSkip() == null ? -2 : -(r.clipSkip() + 2);
            Tensor promptEmbeds, pooled, negEmbeds = null, negPooled = null;
            if (r.doClassifierFreeGuidance() && !(r.negativePrompt() == null && forceZerosForEmptyPrompt)) {
                List<String> neg = r.negativePrompt() != null ? r.negativePrompt() : Collections.nCopies(batch, "");
                List<String> neg2 = r.negativePrompt2() != null ? r.negativePrompt2() : neg;
                List<List<String>> negTexts = hasTextEncoder1() ? List.of(neg, neg2) : List.of(neg);
                // prompt and negative prompt through each encoder in one batch: every weight is read
                // once, not twice (from the file, widened, when the text encoders are read in place);
                // the rows do not mix, so the numbers are those of two calls. diffusers pads the
                // negative prompt to the prompt's length, which is the tokenizer's here as well.
                List<List<String>> both = new ArrayList<>();
                for (int e = 0; e < texts.size(); e++) {
                    List<String> b = new ArrayList<>(texts.get(e));
                    b.addAll(negTexts.get(e));
                    both.add(b);
                }
                Encoded[] pn = encodeAll(both, hiddenIndex, -2, batch);
                promptEmbeds = pn[0].embeds();
                pooled = pn[0].pooled();
                negEmbeds = pn[1].embeds();
                negPooled = pn[1].pooled();
            } else {
                Encoded pos = encodeAll(texts, hiddenIndex, hiddenIndex, batch)[0];
                promptEmbeds = pos.embeds();
                pooled = pos.pooled();
                if (r.doClassifierFreeGuidance()) {
                    negEmbeds = backend.zeros(promptEmbeds.shape());
                    negPooled = backend.zeros(pooled.shape());
                }
            }
            return new PromptEmbeddings(
                    scope.keep(repeatRows(promptEmbeds, n)),
                    negEmbeds == null ? null : scope.keep(repeatRows(negEmbeds, n)),
                    scope.keep(repeatRows(pooled, n)),
                    negPooled == null ? null : scope.keep(repeatRows(negPooled, n)));
        }
    }

    private record Encoded(Tensor embeds, Tensor pooled) {}

    /**
     * Runs each (tokenizer, encoder) on its texts; hidden state {@code hiddenIndex} of each, side by
     * side; pooled from the first encoder whose output[0] is 2-D (the one with projection).
     * Texts are padded to each tokenizer's model_max_length. With more than {@code rows}
     * texts per encoder, the texts past the first {@code rows} are a second batch (the negative
     * prompt) whose hidden state is {@code secondIndex}: returned as a second result.
     */
    private Encoded[] encodeAll(List<List<String>> texts, int hiddenIndex, int secondIndex, int rows) {
        int batches = texts.get(0).size() / rows;
        List<List<Tensor>> parts = new ArrayList<>();
        for (int b = 0; b < batches; b++) parts.add(new ArrayList<>());
        int which = 0;
        if (hasTextEncoder1()) {
            CLIPTextOutput o = textEncoder.forward(ids(tokenizer, texts.get(which++)), true);
            for (int b = 0; b < batches; b++) parts.get(b).add(rowsOf(hidden(o, b == 0 ? hiddenIndex : secondIndex, textEncoder.config()), b, rows, batches));
        }
        CLIPTextOutput o2 = textEncoder2.forward(ids(tokenizer2, texts.get(which)), true);
        Encoded[] out = new Encoded[batches];
        for (int b = 0; b < batches; b++) {
            List<Tensor> p = parts.get(b);
            p.add(rowsOf(hidden(o2, b == 0 ? hiddenIndex : secondIndex, textEncoder2.config()), b, rows, batches));
            out[b] = new Encoded(p.size() == 1 ? p.get(0) : backend.concat(-1, p), rowsOf(o2.textEmbeds(), b, rows, batches));
        }
        return out;
    }

    /** Batch {@code b} of {@code batches} of {@code rows} rows each. */
    private Tensor rowsOf(Tensor t, int b, int rows, int batches) {
        return batches == 1 ? t : backend.narrow(t, 0, b * rows, rows);
    }

    private static Tensor hidden(CLIPTextOutput o, int index, CLIPTextConfig c) {
        int count = c.numHiddenLayers() + 1;
        if (-index > count) {
            throw new IllegalArgumentException("clip_skip " + (-index - 2) + " is too large for a text encoder with "
                    + c.numHiddenLayers() + " layers (at most " + (count - 2) + ")");
        }
        return o.hiddenState(index);
    }

    private static int[][] ids(CLIPTokenizer tok, List<String> texts) {
        int len = tok.modelMaxLength();
        int[][] ids = new int[texts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = tok.encode(texts.get(i), len, true, true).ids();
        return ids;
    }

    /** Each row of dim 0 repeated n times consecutively (torch's repeat + view in encode_prompt). */
    private Tensor repeatRows(Tensor t, int n) {
        if (n == 1) return t;
        int rows = t.dim(0);
        int[] idx = new int[rows * n];
        for (int i = 0; i < idx.length; i++) idx[i] = i / n;
        int[] shape = t.shape();
        shape[0] = rows * n;
        return backend.embedding(t.reshape(rows, -1), idx).reshape(shape);
    }

    @Override
    public void close() {
        if (textEncoder != null) textEncoder.close();
        textEncoder2.close();
    }
}
