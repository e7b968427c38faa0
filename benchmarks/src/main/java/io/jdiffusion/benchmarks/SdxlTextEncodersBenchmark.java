package io.jdiffusion.benchmarks;

import io.jdiffusion.pipelines.RandomSdxl;
import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.text.CLIPTextModel;
import io.jdiffusion.text.CLIPTextModelWithProjection;
import io.jdiffusion.text.CLIPTokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

import java.nio.file.Path;

/**
 * One text encoder on batch 2 (prompt and negative prompt, 77 tokens each) with all hidden states,
 * as the pipeline calls it: CLIP-L ({@code text_encoder}) and OpenCLIP bigG ({@code text_encoder_2}).
 */
public class SdxlTextEncodersBenchmark extends JmhSettings.Scaled {
    /** clip-l or bigG. */
    @Param({"clip-l", "bigG"})
    public String encoder;

    private Backend be;
    private CLIPTextModel clipL;
    private CLIPTextModelWithProjection bigG;
    private int[][] ids;

    @Setup(Level.Trial)
    public void setup() {
        be = FullSize.backend(backend);
        boolean full = FullSize.full(scale);
        Path folder = full ? RandomSdxl.configs(Layout.BASE) : FullSize.fixtureModel("base");
        boolean l = encoder.equals("clip-l");
        if (!l && !encoder.equals("bigG")) throw new IllegalArgumentException("encoder '" + encoder + "'; allowed: clip-l, bigG");
        CLIPTokenizer tok = CLIPTokenizer.load(folder.resolve(l ? "tokenizer" : "tokenizer_2"));
        ids = new int[][] {tok.encode(TextEncoderBenchmark.PROMPT).ids(), tok.encode("blurry, low quality").ids()};
        if (l) clipL = full ? RandomSdxl.clipL(Layout.BASE, be, 4) : CLIPTextModel.load(folder.resolve("text_encoder"), be);
        else bigG = full ? RandomSdxl.bigG(Layout.BASE, be, 4) : CLIPTextModelWithProjection.load(folder.resolve("text_encoder_2"), be);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.println("\n" + encoder + " " + scale + " on " + backend + ": " + FullSize.memory(be));
        if (clipL != null) clipL.close();
        if (bigG != null) bigG.close();
        FullSize.close(be);
    }

    @Benchmark
    public Object encode() {
        try (Backend.Scope s = be.openScope()) {
            Object out = clipL != null ? clipL.forward(ids, true) : bigG.forward(ids, true);
            FullSize.sync(be);
            return out;
        }
    }
}
