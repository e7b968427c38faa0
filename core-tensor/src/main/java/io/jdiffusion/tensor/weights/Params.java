package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A node of a model's parameter tree, named like diffusers/transformers ("down_blocks.0.resnets.1.conv1").
 * Modules ask it for their parameters with the shape their config implies. Two kinds of root:
 * {@link #load} serves tensors from a {@link WeightSource} (uploaded to a backend) and checks
 * shapes; {@link #shapesOnly} serves data-less meta tensors and just records what was asked,
 * so a full-size module tree can be listed without allocating anything.
 *
 * <p>Problems are collected, not thrown one by one: {@link #finish()} reports every missing,
 * mis-shaped and unexpected key at once, and must be called before the model runs.
 */
public final class Params {
    private final Root root;
    private final String prefix;

    private Params(Root root, String prefix) {
        this.root = root;
        this.prefix = prefix;
    }

    /**
     * Loads from {@code source} onto {@code backend}, weights converted to {@code dtype}; when it is
     * null, the CPU keeps the stored dtype and a device converts to its compute dtype.
     */
    public static Params load(String model, WeightSource source, Backend backend, DType dtype) {
        return new Params(new Root(model, source, backend, dtype), "");
    }

    /** Records requested names and shapes; every tensor served is a meta tensor of {@code dtype}. */
    public static Params shapesOnly(String model, DType dtype) {
        return new Params(new Root(model, null, null, dtype), "");
    }

    /**
     * Attaches {@code helper} to this whole tree (one per class), for layers built deep inside it to
     * find with {@link #attached} (e.g. the UNet's {@link io.jdiffusion.tensor.nn.SharedKeyValues}).
     */
    public <T> T attach(T helper) {
        root.attached.put(helper.getClass(), helper);
        return helper;
    }

    /** The helper of this class {@link #attach attached} to the tree, or null. */
    public <T> T attached(Class<T> type) { return type.cast(root.attached.get(type)); }

    /** The sub-tree {@code prefix.name}. */
    public Params child(String name) { return new Params(root, prefix + name + "."); }

    public Params child(int index) { return child(Integer.toString(index)); }

    /** Full key of a parameter of this node. */
    public String key(String name) { return prefix + name; }

    /** The parameter {@code name} of this node, which must have {@code shape}. */
    public Tensor get(String name, int... shape) { return root.get(prefix + name, shape); }

    /** Whether the source has this parameter (always false for shape-only trees): for optional ones. */
    public boolean has(String name) { return root.source != null && root.source.keys().contains(prefix + name); }

    public Backend backend() { return root.backend; }

    /** Every requested key with its expected shape, in request order. */
    public Map<String, int[]> requested() { return Collections.unmodifiableMap(root.requested); }

    /** Throws {@link WeightException} listing every missing, mis-shaped and unexpected weight. */
    public void finish() {
        List<String> problems = new ArrayList<>(root.problems);
        if (root.source != null) {
            int unexpected = 0;
            for (String k : new TreeSet<>(root.source.keys())) {
                // a hostile header can list a million names: detail the first few, count the rest
                if (!root.requested.containsKey(k) && ++unexpected <= io.jdiffusion.tensor.ErrorText.MAX_ITEMS) {
                    problems.add("unexpected key '" + k + "' " + Arrays.toString(root.source.shape(k))
                            + " in " + root.source.origin(k) + " (the model built from its config has no such parameter)");
                }
            }
            if (unexpected > io.jdiffusion.tensor.ErrorText.MAX_ITEMS) {
                problems.add((unexpected - io.jdiffusion.tensor.ErrorText.MAX_ITEMS) + " more unexpected keys");
            }
        }
        if (!problems.isEmpty()) throw new WeightException(root.model, problems);
    }

    /**
     * The parameter {@code name} of each node (each requested under its own key with {@code shape}),
     * stacked as one {@code [nodes, shape...]} tensor for {@link Backend#linearStack}: for a backend
     * that {@link Backend#stacksWeights stacks weights}, whose separate device copies are released
     * once stacked, so the weights are held once, and the stack is what {@link #recordingUploads}
     * reports. A meta tensor of the stacked shape where a part is missing or mis-shaped (finish()
     * reports it) or the tree is shape-only.
     */
    public static Tensor stacked(List<Params> nodes, String name, int... shape) {
        Root root = nodes.getFirst().root;
        int problems = root.problems.size();
        List<Tensor> parts = new ArrayList<>(nodes.size());
        for (Params n : nodes) {
            if (n.root != root) throw new IllegalArgumentException("stacked parameters must come from one tree: " + n.key(name));
            parts.add(n.get(name, shape));
        }
        int[] one = new int[shape.length + 1], all = new int[shape.length + 1];
        one[0] = 1;
        all[0] = nodes.size();
        System.arraycopy(shape, 0, one, 1, shape.length);
        System.arraycopy(shape, 0, all, 1, shape.length);
        if (root.source == null || root.problems.size() != problems) return Tensor.meta(root.dtype == null ? DType.F32 : root.dtype, all);
        Backend be = root.backend;
        if (!be.stacksWeights()) throw new IllegalStateException("the " + be.name() + " backend reads weights in place; stack only where Backend.stacksWeights()");
        Tensor stack = be.concat(0, parts.stream().map(t -> t.reshape(one)).toList());
        List<Tensor> rec = RECORDER.get();
        for (Tensor t : parts) {
            if (rec != null) rec.removeIf(r -> r == t);
            t.close();
        }
        if (rec != null) rec.add(stack);
        return stack;
    }

    /**
     * Runs {@code load} and returns every tensor that {@link #load} trees uploaded on this thread
     * meanwhile (those that are not the source's own tensor, as the CPU backend's in-place reads
     * are): the device copies of a component's weights, which its owner can close to unload the
     * component while the source stays mapped for a later reload.
     */
    public static java.util.List<Tensor> recordingUploads(Runnable load) {
        List<Tensor> previous = RECORDER.get();
        List<Tensor> mine = new ArrayList<>();
        RECORDER.set(mine);
        try {
            load.run();
        } finally {
            if (previous == null) RECORDER.remove();
            else {
                previous.addAll(mine);
                RECORDER.set(previous);
            }
        }
        return mine;
    }

    private static final ThreadLocal<List<Tensor>> RECORDER = new ThreadLocal<>();

    private static final class Root {
        final String model;
        final WeightSource source;
        final Backend backend;
        final DType dtype;
        final Map<String, int[]> requested = new LinkedHashMap<>();
        final List<String> problems = new ArrayList<>();
        final Map<Class<?>, Object> attached = new java.util.HashMap<>();

        Root(String model, WeightSource source, Backend backend, DType dtype) {
            this.model = model;
            this.source = source;
            this.backend = backend;
            this.dtype = dtype;
        }

        Tensor get(String key, int[] shape) {
            if (requested.put(key, shape.clone()) != null) throw new IllegalStateException("parameter " + key + " requested twice");
            Tensor meta = Tensor.meta(dtype == null ? DType.F32 : dtype, shape);
            if (source == null) return meta;
            if (!source.keys().contains(key)) {
                problems.add("missing key '" + key + "': expected shape " + Arrays.toString(shape) + ", not found in " + source.origin(key));
                return meta;
            }
            int[] found = source.shape(key);
            if (!Arrays.equals(found, shape)) {
                problems.add("mis-shaped key '" + key + "' in " + source.origin(key) + ": expected "
                        + Arrays.toString(shape) + ", found " + Arrays.toString(found));
                return meta;
            }
            Tensor t = source.tensor(key);
            // no dtype asked: the CPU reads weights as stored (in place); a device converts them once, here,
            // to the type it computes in, whatever the file holds (not inside every op that reads them)
            DType target = dtype != null ? dtype : backend.device().kind() == io.jdiffusion.tensor.Device.Kind.CPU ? t.dtype() : backend.computeType();
            Tensor up = backend.upload(t, target);
            List<Tensor> rec = RECORDER.get();
            if (rec != null && up != t) rec.add(up);
            return up;
        }
    }
}
