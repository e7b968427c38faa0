package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A pass (say the UNet forward) run as a CUDA graph: captured once per input shape and replayed
 * at every later call with the same shapes, so the host queues one {@code cuGraphLaunch} and a
 * copy per input instead of every kernel.
 *
 * <p>A call with shapes not seen before runs the pass eagerly (its result is the answer; it also
 * compiles the kernels, plans the GEMMs and runs the tensor-core attention's self-check, none of
 * which a capture may do), then captures it into a graph reading fixed device input buffers, and
 * logs one line. Later calls with those shapes copy the inputs into the buffers (async copies,
 * in the inputs' own dtype: conversions to the compute type are inside the graph, as the eager
 * pass's uploads do them), launch the graph and copy its output into a new tensor, so the same
 * kernels run in the same order on the same values: the result equals the eager one bit for bit.
 * A refused capture logs one line naming why, and those shapes run eagerly from then on.
 *
 * <p>Backends other than CUDA, and CUDA with {@code -Djdiffusion.cuda.graphs=false} (or
 * {@code JDIFFUSION_CUDA_GRAPHS=0}), run the pass as it is, eagerly. The shape-only
 * {@code MetaBackend} runs it eagerly too but counts its host launches as a replay's.
 */
public final class GraphedPass implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GraphedPass.class);

    /** Whether CUDA graphs are on: {@code -Djdiffusion.cuda.graphs}, else {@code JDIFFUSION_CUDA_GRAPHS}, else on. */
    public static boolean enabledByDefault() {
        String v = System.getProperty("jdiffusion.cuda.graphs");
        if (v == null) v = System.getenv("JDIFFUSION_CUDA_GRAPHS");
        return v == null || !(v.equalsIgnoreCase("false") || v.equals("0") || v.equalsIgnoreCase("off"));
    }

    /** One captured graph and the device buffers it reads its inputs from. */
    private record Captured(CudaGraph graph, Tensor[] inputs) {}

    private final String what;
    private final Map<List<Object>, Captured> captured = new HashMap<>();
    /** Shapes whose capture was refused: eager from then on. */
    private final Map<List<Object>, String> refused = new HashMap<>();
    private final List<String> logged = new ArrayList<>();
    private boolean enabled = enabledByDefault();
    private volatile boolean failNextCapture;

    /** {@code what} names the pass in log lines ("the UNet forward"). */
    public GraphedPass(String what) { this.what = what; }

    /** Turns graphs on or off for later calls (off: eager, and captured graphs are destroyed). */
    public synchronized void enabled(boolean on) {
        enabled = on;
        if (!on) close();
    }

    public boolean enabled() { return enabled; }

    /**
     * Tests: the next capture queues a stream synchronisation inside the pass (as a host read would),
     * which the driver refuses, so the fallback path runs.
     */
    public void failNextCapture() { failNextCapture = true; }

    /** The lines this pass logged (captures and fallbacks), oldest first. */
    public synchronized List<String> logged() { return Collections.unmodifiableList(new ArrayList<>(logged)); }

    /** Graphs captured and alive. */
    public synchronized int graphs() { return captured.size(); }

    /** Replays so far, over all graphs alive. */
    public synchronized long replays() { return captured.values().stream().mapToLong(c -> c.graph.replays()).sum(); }

    /**
     * {@code pass.apply(inputs)}, through a graph where it can be. {@code inputs} are the pass's
     * tensors (host or device; nulls allowed); the pass must treat them as inputs only (upload,
     * read), queue all its work on {@code backend} and make no host reads.
     */
    public synchronized Tensor run(Backend backend, List<Tensor> inputs, Function<List<Tensor>, Tensor> pass) {
        if (enabled && backend instanceof io.jdiffusion.tensor.meta.MetaBackend meta) {
            // the shape-only device counts a replay: what runs is the eager pass, what the host queues is
            // one graph launch, a copy per input and the output's copy
            return meta.asGraphReplay((int) inputs.stream().filter(java.util.Objects::nonNull).count() + 1, () -> pass.apply(inputs));
        }
        if (!enabled || !(backend instanceof CudaBackend be)) return pass.apply(inputs);
        List<Object> key = key(be, inputs);
        Captured c = captured.get(key);
        if (c != null) return replay(be, c, inputs);
        if (refused.containsKey(key)) return pass.apply(inputs);
        Tensor eager = pass.apply(inputs);
        capture(be, key, inputs, pass);
        return eager;
    }

    private Tensor replay(CudaBackend be, Captured c, List<Tensor> inputs) {
        for (int i = 0; i < inputs.size(); i++) {
            Tensor in = inputs.get(i), buffer = c.inputs[i];
            if (in != null) be.copyInto(in, buffer.dtype(), address(buffer));
        }
        c.graph.launch();
        return be.deviceCopy(c.graph.output());
    }

    private void capture(CudaBackend be, List<Object> key, List<Tensor> inputs, Function<List<Tensor>, Tensor> pass) {
        String shapes = describe(inputs);
        Tensor[] buffers = buffers(be, inputs);
        boolean fail = failNextCapture;
        failNextCapture = false;
        try {
            CudaGraph graph = CudaGraph.capture(be, () -> {
                if (fail) be.synchronize();
                return pass.apply(Arrays.asList(buffers));
            });
            captured.put(key, new Captured(graph, buffers));
            log(false, "CUDA graph: " + what + " for " + shapes + " ran eagerly (shapes not seen before) and was captured ("
                    + graph.kernels() + " launches, " + graph.poolBytes() + " bytes of private pool): replayed from the next call on");
        } catch (CudaGraph.CaptureException e) {
            closeAll(buffers);
            refused.put(key, e.getMessage());
            log(true, "CUDA graph: capture of " + what + " for " + shapes + " refused (" + e.getMessage() + "): it runs eagerly");
        }
    }

    private void log(boolean warn, String line) {
        logged.add(line);
        if (warn) LOG.warn(line);
        else LOG.info(line);
    }

    /** What a graph depends on: each input's shape, dtype and whether it is host data; the backend and its dtype. */
    private static List<Object> key(CudaBackend be, List<Tensor> inputs) {
        List<Object> k = new ArrayList<>();
        k.add(System.identityHashCode(be.root()));
        k.add(be.computeType());
        for (Tensor t : inputs) {
            if (t == null) { k.add("null"); continue; }
            k.add(Arrays.toString(t.shape()));
            k.add(bufferType(t));
        }
        return k;
    }

    private static String describe(List<Tensor> inputs) {
        StringBuilder b = new StringBuilder();
        for (Tensor t : inputs) {
            if (!b.isEmpty()) b.append(", ");
            b.append(t == null ? "-" : Arrays.toString(t.shape()) + " " + bufferType(t));
        }
        return "inputs " + b;
    }

    /** Destroys every graph and its input buffers, returning their memory (their shapes are captured anew on their next call). */
    @Override
    public synchronized void close() {
        for (Captured c : captured.values()) {
            c.graph.close();
            closeAll(c.inputs);
        }
        captured.clear();   // refused shapes stay refused: their cause is in the pass, not in the graph
    }

    /**
     * Unscoped device buffers for the inputs, in each input's own storage type, holding copies of
     * them (the graph's uploads read them; nulls stay null).
     */
    private static Tensor[] buffers(CudaBackend be, List<Tensor> inputs) {
        return be.detached(() -> {
            Tensor[] b = new Tensor[inputs.size()];
            for (int i = 0; i < b.length; i++) {
                Tensor t = inputs.get(i);
                if (t != null) b[i] = t.storage() instanceof CudaStorage s && s.owner().root() == be.root() ? be.deviceCopy(t) : be.upload(t, bufferType(t));
            }
            return b;
        });
    }

    private static void closeAll(Tensor[] buffers) {
        for (Tensor t : buffers) if (t != null) t.close();
    }

    private static long address(Tensor t) {
        CudaStorage s = (CudaStorage) t.storage();
        return s.pointer() + t.offset() * s.dtype().byteSize();
    }

    /** The dtype an input's device buffer holds: the tensor's own storage type (F32 for heap floats). */
    static DType bufferType(Tensor t) {
        return t.storage() instanceof CudaStorage || t.storage() instanceof SegmentStorage ? t.dtype() : DType.F32;
    }
}
