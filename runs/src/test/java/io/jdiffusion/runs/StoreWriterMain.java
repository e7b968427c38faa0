package io.jdiffusion.runs;

import io.jdiffusion.pipelines.GenerationResult;
import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.pipelines.Text2ImagePipeline;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A second process for {@link ConcurrentWritersTest}: makes one real generation on the fixture
 * base model, waits for the go file, then records it {@code count} times as fast as it can.
 * Arguments: store folder, writer name, count, go file.
 */
public final class StoreWriterMain {
    private StoreWriterMain() {}

    public static void main(String[] args) throws Exception {
        Path store = Path.of(args[0]);
        String writer = args[1];
        int count = Integer.parseInt(args[2]);
        Path go = Path.of(args[3]);
        GenerationResult r = generate(writer.hashCode());
        RunStore s = RunStore.open(store);
        System.out.println("ready " + writer);
        System.out.flush();
        long deadline = System.currentTimeMillis() + 120_000;
        while (!Files.exists(go)) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("no go file " + go);
            Thread.sleep(5);
        }
        write(s, r, writer, count);
        System.out.println("done " + writer);
    }

    static GenerationResult generate(long seed) {
        try (SdxlModel base = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, CpuBackend.INSTANCE)) {
            return Text2ImagePipeline.of(base).prompt("concurrent writers").steps(2).seed(seed).run();
        }
    }

    static void write(RunStore s, GenerationResult r, String writer, int count) {
        for (int i = 0; i < count; i++) {
            StepTimings t = new StepTimings();
            s.record("concurrency", List.of("writer=" + writer, "n=" + i), r, t.finish(), null);
        }
    }
}
