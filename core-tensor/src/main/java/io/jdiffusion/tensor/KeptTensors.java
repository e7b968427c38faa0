package io.jdiffusion.tensor;

import java.lang.reflect.RecordComponent;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What {@link Backend.Scope#keep} walks: every tensor reachable from the kept object through
 * iterables, map values, arrays and record components, each visited once. Backends with device
 * scopes (CUDA, the shape-only one) share this walk and differ only in what they do per tensor.
 */
public final class KeptTensors {
    private KeptTensors() {}

    /** Calls {@code action} for every tensor reachable from {@code o}. */
    public static void forEach(Object o, Consumer<Tensor> action) {
        walk(o, action, Collections.newSetFromMap(new IdentityHashMap<>()));
    }

    private static void walk(Object o, Consumer<Tensor> action, Set<Object> seen) {
        if (o == null || !seen.add(o)) return;
        switch (o) {
            case Tensor t -> action.accept(t);
            case Iterable<?> it -> { for (Object e : it) walk(e, action, seen); }
            case Map<?, ?> m -> { for (Object e : m.values()) walk(e, action, seen); }
            case Object[] arr -> { for (Object e : arr) walk(e, action, seen); }
            case Record r -> {
                for (RecordComponent rc : r.getClass().getRecordComponents()) {
                    try {
                        rc.getAccessor().setAccessible(true);
                        walk(rc.getAccessor().invoke(r), action, seen);
                    } catch (ReflectiveOperationException | RuntimeException e) {
                        throw new IllegalArgumentException("keep: cannot read component " + rc.getName() + " of " + r.getClass().getName(), e);
                    }
                }
            }
            default -> { }
        }
    }
}
