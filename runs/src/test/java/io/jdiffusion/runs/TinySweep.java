package io.jdiffusion.runs;

import io.jdiffusion.pipelines.SdxlModel;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.testing.FileTrees;
import io.jdiffusion.tensor.testing.Fixtures;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The acceptance sweep on the fixture models, made once per test JVM: inpainting init.png with
 * mask.png, 2 seeds × refiner off / on (at 0.5) × dilation off / 3x1, 4 steps each.
 */
final class TinySweep {
    static final String EXPERIMENT = "tiny-sweep";
    static final List<String> TAGS = List.of("acceptance", "tiny");
    static final long[] SEEDS = {1, 2};
    static final double FRACTION = 0.5;
    static final Sweep.Dilation DILATION = new Sweep.Dilation(3, 1);
    static final int STEPS = 4;
    static final String PROMPT = "a red vase on a table";

    private static Path dir;
    private static List<RunRecord> runs;

    private TinySweep() {}

    static Backend backend() {
        // Sweep and reproduce must compute on the same backend; the CPU unless a run asked otherwise.
        if (System.getProperty(Backends.PROPERTY) == null && System.getenv(Backends.ENV) == null) {
            System.setProperty(Backends.PROPERTY, "cpu");
        }
        return Backends.get();
    }

    static Path base() { return Fixtures.path("sdxl-base").toAbsolutePath(); }

    static Path refiner() { return Fixtures.path("sdxl-refiner").toAbsolutePath(); }

    static Path image() { return Fixtures.path("init.png").toAbsolutePath(); }

    static Path mask() { return Fixtures.path("mask.png").toAbsolutePath(); }

    static Sweep sweep(SdxlModel base, SdxlModel refiner) {
        return Sweep.inpaint(base, image(), mask()).refinerModel(refiner).prompt(PROMPT).steps(STEPS)
                .seeds(SEEDS).refinerFractions(null, FRACTION).dilations(null, DILATION);
    }

    /** The store with the 8 runs (a fresh folder, deleted when the JVM exits). */
    static synchronized Path store() {
        if (dir == null) {
            Path d;
            try {
                d = Files.createTempDirectory("jdiffusion-runs-test-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(d)));
            Backend b = backend();
            try (SdxlModel base = SdxlModel.load(base().toString(), null, b);
                 SdxlModel refiner = SdxlModel.load(refiner().toString(), null, b)) {
                runs = sweep(base, refiner).run(RunStore.open(d), EXPERIMENT, TAGS);
            }
            dir = d;
        }
        return dir;
    }

    static synchronized List<RunRecord> runs() {
        store();
        return runs;
    }

    /** A copy of the sweep's store that a test may damage. */
    static Path copy() throws IOException {
        return copyOf(store());
    }

    /** A copy of a store folder (deleted when the JVM exits). */
    static Path copyOf(Path src) throws IOException {
        Path dst = Files.createTempDirectory("jdiffusion-runs-copy-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dst)));
        return FileTrees.copy(src, dst);
    }

    /** The compare page of the 8 runs, written into a folder of the store (links) or anywhere (embedded). */
    static Path copyPage(Path tmp, boolean embed) throws IOException {
        RunStore store = RunStore.open(store());
        List<RunRecord> all = store.list().runs().stream().map(e -> store.get(e.id())).toList();
        Path page = embed ? tmp.resolve("embedded.html") : store.dir().resolve("reports").resolve(tmp.getFileName() + ".html");
        return CompareReport.write(store, all, List.of(), page, embed);
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        } catch (IOException ignored) {
            // best effort at exit
        }
    }
}
