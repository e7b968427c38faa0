package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.text.CLIPTextModelWithProjection;
import io.jdiffusion.text.CLIPTokenizer;
import io.jdiffusion.text.PromptEmbeddings;
import io.jdiffusion.text.PromptRequest;
import io.jdiffusion.text.SdxlPromptEncoder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Tokenising and encoding throughput on the tiny fixture models (testdata/tiny-sdxl or
 * $SDXL_FIXTURES), CPU backend. The tokenizer's baseline is the same work with BPE-cache misses:
 * prompts of the same shape made of words it has never seen.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--add-modules=jdk.incubator.vector"})
@State(Scope.Thread)
public class TextEncoderBenchmark {
    /** 15 content tokens, typical of a short SDXL prompt. */
    static final String PROMPT = "A photo of an astronaut riding a horse on mars, highly detailed, 4k";
    /** About 70 content tokens: close to CLIP's 75-token limit, not truncated. */
    static final String LONG_PROMPT = "a cinematic wide shot of an ancient lighthouse on a rocky cliff at dusk, stormy sea, "
            + "crashing waves, dramatic clouds, volumetric light, seagulls, wet stones, moss, lanterns, fishing boats in the distance, "
            + "golden hour, oil painting by a renaissance master, intricate details, sharp focus";

    CLIPTokenizer tokenizer;
    CLIPTokenizer freshTokenizer;
    CLIPTextModel textEncoder;
    CLIPTextModelWithProjection textEncoder2;
    SdxlPromptEncoder base;
    int[][] ids1, ids2;
    SplittableRandom random;

    @Setup(Level.Trial)
    public void setup() {
        Path root = FullSize.fixtures();
        tokenizer = CLIPTokenizer.load(root.resolve("sdxl-base/tokenizer"));
        freshTokenizer = CLIPTokenizer.load(root.resolve("sdxl-base/tokenizer"));
        textEncoder = CLIPTextModel.load(root.resolve("sdxl-base/text_encoder"), CpuBackend.INSTANCE);
        textEncoder2 = CLIPTextModelWithProjection.load(root.resolve("sdxl-base/text_encoder_2"), CpuBackend.INSTANCE);
        base = SdxlPromptEncoder.load(root.resolve("sdxl-base"), CpuBackend.INSTANCE);
        ids1 = new int[][] {tokenizer.encode(PROMPT).ids()};
        ids2 = new int[][] {base.tokenizer2().encode(PROMPT).ids()};
        random = new SplittableRandom(42);
        // Fill the fresh tokenizer's BPE cache with other words, so every later new word misses it.
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 12_000; i++) sb.append(randomWord()).append(' ');
        freshTokenizer.tokenize(sb.toString());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        textEncoder.close();
        textEncoder2.close();
        base.close();
    }

    private String randomWord() {
        char[] w = new char[4 + random.nextInt(6)];
        for (int i = 0; i < w.length; i++) w[i] = (char) ('a' + random.nextInt(26));
        return new String(w);
    }

    @Benchmark
    public int[] tokenizePrompt() { return tokenizer.encode(PROMPT).ids(); }

    @Benchmark
    public int[] tokenizeLongPrompt() { return tokenizer.encode(LONG_PROMPT).ids(); }

    /** Baseline: 12 never-seen words (about as many tokens as PROMPT would be if its words were rare): BPE runs for each. */
    @Benchmark
    public int[] tokenizeUncachedWords() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 12; i++) sb.append(randomWord()).append(' ');
        return freshTokenizer.encode(sb.toString()).ids();
    }

    @Benchmark
    public Object textEncoderForward() { return textEncoder.forward(ids1, true); }

    @Benchmark
    public Object textEncoder2Forward() { return textEncoder2.forward(ids2, true); }

    /** Tokenise + both encoders for prompt and negative prompt, as the pipeline calls it. */
    @Benchmark
    public PromptEmbeddings encodePrompt() {
        return base.encode(PromptRequest.of(PROMPT).withNegativePrompt("blurry, low quality"));
    }
}
