package io.jdiffusion.text;

/**
 * A model family's {@code encode_prompt}: SDXL's two encoders ({@link SdxlPromptEncoder}) or SD 1/2's
 * one ({@link SdPromptEncoder}, whose pooled outputs are null).
 */
public interface PromptEncoder extends AutoCloseable {
    /** The prompt embeddings of {@code request}, negative branch included under classifier-free guidance. */
    PromptEmbeddings encode(PromptRequest request);

    @Override
    void close();
}
