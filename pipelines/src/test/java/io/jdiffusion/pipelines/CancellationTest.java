package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cancel() during a run stops it before the next step, and every backend scope it opened is closed again. */
class CancellationTest {

    /** The CPU backend, counting the scopes that are open right now. */
    static Backend counting(AtomicInteger open, AtomicInteger opened) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            try {
                if (m.getName().equals("openScope")) {
                    open.incrementAndGet();
                    opened.incrementAndGet();
                    Backend.Scope inner = CpuBackend.INSTANCE.openScope();
                    return new Backend.Scope() {
                        @Override public <T> T keep(T t) { return inner.keep(t); }
                        @Override public void close() { inner.close(); open.decrementAndGet(); }
                    };
                }
                return m.invoke(CpuBackend.INSTANCE, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    @Test
    void cancellingAfterStepKStopsBeforeTheNextStepAndReleasesScopes() {
        AtomicInteger open = new AtomicInteger(), opened = new AtomicInteger();
        int k = 2;
        try (SdxlModel model = SdxlModel.load(Fixtures.path("sdxl-base").toString(), null, counting(open, opened));
             InpaintPipeline pipe = InpaintPipeline.of(model)) {
            List<Integer> seen = new ArrayList<>();
            pipe.prompt("a red vase").image(ImageFiles.read(Fixtures.path("init.png"))).mask(ImageFiles.read(Fixtures.path("mask.png")))
                    .steps(8).seed(1)
                    .onStep((i, n, t, x) -> {
                        seen.add(i);
                        if (i == k) pipe.cancel();
                    });
            CancelledException e = assertThrows(CancelledException.class, pipe::run);
            assertEquals(List.of(0, 1, 2), seen, "no step runs after the one that asked to cancel");
            assertTrue(e.getMessage().contains("after " + (k + 1) + " step"), e.getMessage());
            assertTrue(opened.get() > 0, "the run used backend scopes");
            assertEquals(0, open.get(), "every scope opened by the cancelled run is closed");

            // the pipeline stays usable: a new run starts from scratch and completes
            seen.clear();
            pipe.onStep((i, n, t, x) -> seen.add(i)).steps(3);
            GenerationResult r = pipe.run();
            assertEquals(1, r.images().size());
            assertEquals(0, open.get());
        }
    }
}
