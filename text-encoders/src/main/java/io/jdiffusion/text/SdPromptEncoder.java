package io.jdiffusion.text;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;

/**
 * diffusers' {@code StableDiffusionPipeline.encode_prompt} for SD 1.x and 2.x (also what the SD
 * img2img and inpaint pipelines call): one tokenizer and one {@code CLIPTextModel} (CLIP ViT-L for
 * SD 1, OpenCLIP ViT-H for SD 2, each with its own config); the prompt embedding is the text
 * encoder's {@code last_hidden_state}, i.e. after {@code final_layer_norm} (SDXL takes the
 * penultimate layer instead, without the norm). The negative branch encodes negative_prompt
 * (None → "", never zeros) padded to the prompt embedding's length. There is no pooled embedding.
 * With clip_skip k the prompt embedding is hidden_states[-(k + 1)] through final_layer_norm; the
 * negative one stays last_hidden_state, as in diffusers.
 */
public final class SdPromptEncoder implements PromptEncoder {
    private final CLIPTokenizer tokenizer;
    private final CLIPTextModel textEncoder;

    public SdPromptEncoder(CLIPTokenizer tokenizer, CLIPTextModel textEncoder) {
        if (tokenizer == null || textEncoder == null) throw new IllegalArgumentException("SD 1/2 needs a tokenizer and a text_encoder");
        this.tokenizer = tokenizer;
        this.textEncoder = textEncoder;
    }

    /** tokenizer/ + text_encoder/ of a diffusers SD folder; {@code variant} picks model.&lt;variant&gt;.safetensors (null: model.safetensors). */
    public static SdPromptEncoder load(Path modelFolder, Backend backend, String variant) {
        for (String sub : List.of("tokenizer", "text_encoder")) {
            if (!Files.isDirectory(modelFolder.resolve(sub))) {
                throw new IllegalArgumentException(modelFolder + " has no " + sub + "/ (an SD 1/2 model needs tokenizer/ and text_encoder/)");
            }
        }
        CLIPTokenizer tok = CLIPTokenizer.load(modelFolder.resolve("tokenizer"));
        return new SdPromptEncoder(tok, CLIPTextModel.load(modelFolder.resolve("text_encoder"), backend, variant));
    }

    public CLIPTokenizer tokenizer() { return tokenizer; }

    public CLIPTextConfig config() { return textEncoder.config(); }

    /**
     * encode_prompt with the request's prompts; pooled outputs are null. The SDXL-only text settings
     * (prompt_2, negative_prompt_2) are refused by name.
     */
    @Override
    public PromptEmbeddings encode(PromptRequest r) {
        if (r.prompt2() != null) throw new IllegalArgumentException("prompt_2 is an SDXL setting (text_encoder_2); SD 1/2 have one text encoder");
        if (r.negativePrompt2() != null) {
            throw new IllegalArgumentException("negative_prompt_2 is an SDXL setting (text_encoder_2); SD 1/2 have one text encoder");
        }
        int n = r.numImagesPerPrompt();
        Tensor prompt = encodeTexts(r.prompt(), tokenizer.modelMaxLength(), r.clipSkip());
        Tensor negative = null;
        if (r.doClassifierFreeGuidance()) {
            List<String> neg = r.negativePrompt() != null ? r.negativePrompt() : Collections.nCopies(r.batchSize(), "");
            negative = encodeTexts(neg, prompt.dim(1), null);
        }
        return new PromptEmbeddings(repeatRows(prompt, n), negative == null ? null : repeatRows(negative, n), null, null);
    }

    private Tensor encodeTexts(List<String> texts, int maxLength, Integer clipSkip) {
        int[][] ids = new int[texts.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = tokenizer.encode(texts.get(i), maxLength, true, true).ids();
        return clipSkip == null ? textEncoder.forward(ids, false).lastHiddenState() : textEncoder.skippedLastHiddenState(ids, clipSkip);
    }

    /** Each row of dim 0 repeated n times consecutively (torch's repeat + view in encode_prompt), on the host. */
    private static Tensor repeatRows(Tensor t, int n) {
        if (n == 1) return t;
        float[] src = t.toFloatArray();
        int rows = t.dim(0), row = src.length / rows;
        float[] out = new float[src.length * n];
        for (int i = 0; i < rows * n; i++) System.arraycopy(src, (i / n) * row, out, i * row, row);
        int[] shape = t.shape();
        shape[0] = rows * n;
        return Tensor.of(out, shape);
    }

    @Override
    public void close() { textEncoder.close(); }
}
