package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.Storage;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The pipelines under the memory rules of a device backend, checked on the CPU: every tensor a
 * backend hands out inside a scope is released when the scope closes unless kept (as CudaBackend
 * does), and a released tensor refuses to be read. Models load lazily in the middle of runs, so
 * this catches weights or embeddings that would die with a forward pass's scope on a GPU.
 */
class ScopeDisciplineTest {

    /** A storage that refuses reads once its scope has ended. */
    static final class ScopedStorage implements Storage {
        final Storage inner;
        boolean released;

        ScopedStorage(Storage inner) { this.inner = inner; }

        @Override public Device device() { return inner.device(); }
        @Override public DType dtype() { return inner.dtype(); }
        @Override public long length() { return inner.length(); }

        @Override
        public void readFloats(long offset, float[] dst, int dstOffset, int count) {
            if (released) throw new IllegalStateException("use of a tensor released with its scope");
            inner.readFloats(offset, dst, dstOffset, count);
        }
    }

    /** CpuBackend with CudaBackend's scope semantics. */
    static Backend scoped() {
        ThreadLocal<ArrayDeque<List<ScopedStorage>>> scopes = ThreadLocal.withInitial(ArrayDeque::new);
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            ArrayDeque<List<ScopedStorage>> stack = scopes.get();
            switch (m.getName()) {
                case "openScope" -> {
                    List<ScopedStorage> mine = new ArrayList<>();
                    stack.push(mine);
                    return new Backend.Scope() {
                        @Override
                        public <T> T keep(T t) {
                            Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
                            keepAll(t, mine, seen);
                            return t;
                        }

                        @Override
                        public void close() {
                            stack.remove(mine);
                            for (ScopedStorage s : mine) s.released = true;
                        }
                    };
                }
                case "detached" -> {
                    ArrayDeque<List<ScopedStorage>> saved = new ArrayDeque<>(stack);
                    stack.clear();
                    try {
                        return ((Supplier<?>) args[0]).get();
                    } finally {
                        stack.addAll(saved);
                    }
                }
                default -> {
                    Object r;
                    try {
                        r = m.invoke(CpuBackend.INSTANCE, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (stack.isEmpty()) return r;
                    if (r instanceof Tensor t) return track(t, stack.peek());
                    if (r instanceof List<?> l && !l.isEmpty() && l.get(0) instanceof Tensor) {
                        List<Tensor> out = new ArrayList<>();
                        for (Object o : l) out.add(track((Tensor) o, stack.peek()));
                        return out;
                    }
                    return r;
                }
            }
        });
    }

    static Tensor track(Tensor t, List<ScopedStorage> scope) {
        ScopedStorage s = new ScopedStorage(t.storage());
        scope.add(s);
        return new Tensor(s, t.offset(), t.shape());
    }

    static void keepAll(Object o, List<ScopedStorage> scope, Set<Object> seen) {
        if (o == null || !seen.add(o)) return;
        if (o instanceof Tensor t && t.storage() instanceof ScopedStorage s) scope.remove(s);
        else if (o instanceof Iterable<?> it) for (Object e : it) keepAll(e, scope, seen);
        else if (o instanceof Record r) {
            for (var rc : r.getClass().getRecordComponents()) {
                try {
                    rc.getAccessor().setAccessible(true);
                    keepAll(rc.getAccessor().invoke(r), scope, seen);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
    }

    @Test
    void theRulesBite() {
        Backend b = scoped();
        Tensor t;
        try (Backend.Scope s = b.openScope()) {
            t = b.fromFloats(new float[] {1, 2}, 2);
        }
        Tensor dead = t;
        assertThrows(IllegalStateException.class, dead::toFloatArray);
    }

    /**
     * Components load lazily inside runs (the VAE inside the decode's scope, for one); a model is
     * then used for a second run, which must still find its weights and match diffusers.
     */
    @Test
    void modelsKeepTheirWeightsAcrossRuns() {
        Backend backend = scoped();
        for (String pipeline : List.of("StableDiffusionXLPipeline", "StableDiffusionXLInpaintPipeline")) {
            // the first case of each kind that starts from pixels (a text-to-image case decodes inside a scope first)
            String name = null;
            for (var e : Fixtures.reference().path("cases").properties()) {
                JsonNode k = e.getValue();
                if (pipeline.equals(k.path("pipeline").asText()) && !k.path("image").has("latents_from") && !k.has("unet_override")) {
                    name = e.getKey();
                    break;
                }
            }
            if (name == null) throw new AssertionError("reference.json has no " + pipeline + " case");
            JsonNode c = Fixtures.reference().path("cases").path(name);
            try (SdxlModel m = SdxlModel.load(Fixtures.path(c.path("model").asText()).toString(), null, backend)) {
                PipelineFixtureTest.replayWith(m, name + " (device scope rules, first run)", c);
                PipelineFixtureTest.replayWith(m, name + " (device scope rules, second run)", c);
            }
        }
    }
}
