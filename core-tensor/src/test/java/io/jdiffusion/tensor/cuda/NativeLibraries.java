package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Assumptions;

import java.util.function.Supplier;

/** For tests of the CUDA library bindings that need the library but no GPU. */
final class NativeLibraries {
    private NativeLibraries() {}

    /** The loaded binding, or the test skipped, saying {@code skipped} and why, where the library is not found. */
    static <T> T orSkip(String skipped, Supplier<T> load) {
        try {
            return load.get();
        } catch (CudaUnavailableException e) {
            Assumptions.abort(skipped + ": " + e.getMessage());
            throw e;
        }
    }
}
