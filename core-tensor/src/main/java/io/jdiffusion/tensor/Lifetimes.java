package io.jdiffusion.tensor;

import java.util.List;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Releases activations as soon as they are dead. A model block runs in its own scope, so its
 * intermediates go when it returns and only its result outlives it; in a chain of blocks each
 * intermediate result is released once the next block has consumed it. On a device this bounds the
 * live activations of a forward pass by about one block's worth instead of the whole pass's.
 * (The CPU backend's scopes are no-ops: there the garbage collector does the same.)
 */
public final class Lifetimes {
    private Lifetimes() {}

    /** {@code work} in its own scope of {@code be}; its result (tensors, or lists/records of them) is kept. */
    public static <T> T block(Backend be, Supplier<T> work) {
        try (Backend.Scope s = be.openScope()) {
            return s.keep(work.get());
        }
    }

    /**
     * Applies {@code steps} in order to {@code x}, each as a {@link #block}; every intermediate
     * result is released when the step after it returns (never {@code x}, nor a result that shares
     * storage with the next, such as a reshaped view).
     */
    public static Tensor chain(Backend be, Tensor x, List<? extends UnaryOperator<Tensor>> steps) {
        Tensor cur = x;
        for (UnaryOperator<Tensor> step : steps) {
            Tensor in = cur;
            Tensor next = block(be, () -> step.apply(in));
            if (in != x && next.storage() != in.storage()) in.close();
            cur = next;
        }
        return cur;
    }
}
