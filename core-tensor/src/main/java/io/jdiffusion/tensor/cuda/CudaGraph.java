package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.util.function.Supplier;

/**
 * One captured CUDA graph: the kernels, cuBLAS calls, memsets and device copies a pass queues on
 * the backend's stream, recorded once ({@link #capture}) and replayed by one {@code cuGraphLaunch}
 * ({@link #launch}). Every block the captured pass allocated or freed stays in the graph's private
 * pool of the {@link CachingAllocator} while the graph lives, so work queued between two replays
 * is never handed memory a replay overwrites. The pass's result lives in that pool too
 * ({@link #output}): each replay writes it again. {@link #close} destroys the graph and gives the
 * pool's blocks back to the backend's cache.
 *
 * <p>What cannot be captured fails the capture with a {@link CaptureException} saying why: host
 * reads (the driver refuses a stream synchronisation during a capture), host uploads (a captured
 * copy would read the host memory again at every replay), a tensor-core attention self-check not
 * run yet, a driver without the graph entry points.
 */
public final class CudaGraph implements AutoCloseable {
    /** The capture in progress on a backend (see {@link CudaBackend#recording}): what it has counted so far. */
    static final class Recording {
        long kernels;
    }

    /** Why a pass could not be captured; the caller runs it eagerly instead. */
    public static final class CaptureException extends RuntimeException {
        CaptureException(String message, Throwable cause) { super(message, cause); }
    }

    /** What a capture made: the driver's graph and executable graph, what it runs, where it writes, whose memory. */
    private record Captured(CudaBackend backend, CachingAllocator.Pool pool, MemorySegment graph, MemorySegment exec, long kernels,
                            Tensor output) {}

    private final Captured c;
    private long replays;
    private boolean closed;

    private CudaGraph(Captured c) { this.c = c; }

    /** Whether {@code backend}'s driver has the graph entry points (else the reason it has not). */
    public static String unsupportedReason(CudaBackend backend) {
        var missing = backend.driver.graphsMissing();
        return missing.isEmpty() ? null : "the CUDA driver has no " + String.join(", ", missing);
    }

    /**
     * Captures what {@code pass} queues on {@code backend}'s stream (nothing runs now) into a new
     * graph whose output is the tensor the pass returns. Throws {@link CaptureException} naming
     * the cause when the driver or the pass refuses, after ending the capture and releasing all
     * it allocated.
     */
    public static CudaGraph capture(CudaBackend backend, Supplier<Tensor> pass) {
        CudaBackend root = backend.root();
        backend.enter();
        String unsupported = unsupportedReason(backend);
        if (unsupported != null) throw new CaptureException(unsupported, null);
        if (root.recording != null) throw new IllegalStateException("a CUDA graph capture is already in progress on " + backend);
        CudaDriver driver = backend.driver;
        MemorySegment stream = backend.stream();
        CachingAllocator allocator = backend.allocator();
        Recording recording = new Recording();
        CachingAllocator.Pool pool = allocator.beginCapture(null);
        root.recording = recording;
        RuntimeException failure = null;
        Tensor out = null;
        MemorySegment graph = null;
        try {
            driver.streamBeginCapture(stream);
            try {
                // unscoped: the result belongs to the graph, not to the caller's scope
                out = backend.detached(() -> {
                    try (Backend.Scope scope = backend.openScope()) {
                        return scope.keep(pass.get());
                    }
                });
            } catch (RuntimeException e) {
                failure = e;
            }
            try {
                graph = driver.streamEndCapture(stream);
            } catch (RuntimeException e) {
                if (failure == null) failure = e;
                else failure.addSuppressed(e);
            }
        } catch (RuntimeException e) {
            failure = e;   // cuStreamBeginCapture refused
        } finally {
            root.recording = null;
            allocator.endCapture();
        }
        MemorySegment exec = null;
        if (failure == null) {
            try {
                exec = driver.graphInstantiate(graph);
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        if (failure != null) {
            if (graph != null && !graph.equals(MemorySegment.NULL)) driver.graphDestroy(graph);
            if (out != null) out.close();
            allocator.releasePool(pool);
            throw new CaptureException(rootCause(failure), failure);
        }
        CudaGraph g = new CudaGraph(new Captured(backend, pool, graph, exec, recording.kernels, out));
        root.graphs.add(g);
        return g;
    }

    private static String rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getMessage() == null) c = c.getCause();
        return c.getMessage() != null ? c.getMessage() : c.getClass().getSimpleName();
    }

    /** Queues one replay of the captured work on the backend's stream. */
    public void launch() {
        if (closed) throw new IllegalStateException("launch of a closed CUDA graph");
        c.backend.enter();
        c.backend.driver.graphLaunch(c.exec, c.backend.stream());
        c.backend.countReplayed(c.kernels);
        replays++;
    }

    /** The captured pass's result: written again by every replay (copy it before the next one). */
    public Tensor output() { return c.output; }

    /** Kernel launches, cuBLAS calls and memsets the graph runs per replay (what the eager pass would queue one by one). */
    public long kernels() { return c.kernels; }

    public long replays() { return replays; }

    /** Bytes of the graph's private memory pool. */
    public long poolBytes() { return c.pool.bytes(); }

    /** Destroys the graph and hands its private pool back to the backend's cache (nothing when the backend is closed). */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        CudaBackend be = c.backend;
        be.root().graphs.remove(this);
        if (be.isClosed()) return;   // the backend freed everything, the graphs with its context
        be.enter();
        be.driver.graphExecDestroy(c.exec);
        be.driver.graphDestroy(c.graph);
        c.output.close();
        be.allocator().releasePool(c.pool);
    }
}
