package io.jdiffusion.tensor.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A shared library opened with {@link SymbolLookup#libraryLookup}: first by its name (the dynamic
 * loader's path: LD_LIBRARY_PATH, ld.so.cache), then in the folders CUDA is usually installed in.
 * Libraries stay loaded for the life of the JVM (global arena), like any dlopen'ed library.
 */
@SuppressWarnings("restricted")   // FFM downcalls are the point of this class; the JVM runs with --enable-native-access
final class NativeLibrary {
    static final Linker LINKER = Linker.nativeLinker();

    final String what;
    final String location;
    private final SymbolLookup lookup;

    private NativeLibrary(String what, String location, SymbolLookup lookup) {
        this.what = what;
        this.location = location;
        this.lookup = lookup;
    }

    /**
     * Opens the first of {@code names} that loads. Throws {@link CudaUnavailableException} naming
     * every name and folder tried.
     */
    static NativeLibrary load(String what, String... names) {
        List<String> errors = new ArrayList<>();
        for (String name : names) {
            try {
                return new NativeLibrary(what, name, SymbolLookup.libraryLookup(name, Arena.global()));
            } catch (IllegalArgumentException e) {
                // not on the loader path; try the usual folders below
            }
            for (Path dir : searchDirs()) {
                Path p = dir.resolve(name);
                if (!Files.exists(p)) continue;
                try {
                    return new NativeLibrary(what, p.toString(), SymbolLookup.libraryLookup(p, Arena.global()));
                } catch (IllegalArgumentException e) {
                    errors.add(p + ": " + e.getMessage());
                }
            }
        }
        throw new CudaUnavailableException(what + " not found: none of " + String.join(", ", names)
                + " could be loaded from the loader path (LD_LIBRARY_PATH) or " + searchDirs()
                + (errors.isEmpty() ? "" : "; errors: " + errors));
    }

    /** A downcall handle for {@code symbol}; a missing symbol is reported with the library's location. */
    MethodHandle fn(String symbol, FunctionDescriptor descriptor) {
        return lookup.find(symbol)
                .map(addr -> LINKER.downcallHandle(addr, descriptor))
                .orElseThrow(() -> new CudaUnavailableException(what + " at " + location + " has no function " + symbol
                        + " (too old a version?)"));
    }

    /**
     * Opens the files of this library's folder whose names start with {@code prefix}, when it was
     * found by path: libraries it dlopen()s later by name (NVRTC's builtins) then resolve to these
     * even when that folder is not on the loader path. Failures are ignored (the later dlopen
     * reports them).
     */
    void preloadSiblings(String prefix) {
        Path p = Path.of(location);
        if (!p.isAbsolute() || p.getParent() == null) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(p.getParent(), prefix + "*")) {
            for (Path f : ds) {
                try {
                    SymbolLookup.libraryLookup(f, Arena.global());
                } catch (IllegalArgumentException e) {
                    // reported by whoever needs it
                }
            }
        } catch (IOException | SecurityException e) {
            // nothing to preload
        }
    }

    /** Like {@link #fn} but null when the symbol is absent (optional entry points). */
    MethodHandle optional(String symbol, FunctionDescriptor descriptor) {
        return lookup.find(symbol).map(addr -> LINKER.downcallHandle(addr, descriptor)).orElse(null);
    }

    /**
     * Folders searched after the loader path: $JDIFFUSION_CUDA_LIBS (colon separated), $CUDA_HOME
     * and $CUDA_PATH, /usr/local/cuda*, the distribution's library folders, the driver folder of
     * container images (/usr/local/nvidia) and the nvidia-* Python wheels of a site-packages folder.
     */
    static List<Path> searchDirs() {
        Set<Path> dirs = new LinkedHashSet<>();
        String extra = System.getenv("JDIFFUSION_CUDA_LIBS");
        if (extra != null) for (String s : extra.split(":")) if (!s.isBlank()) dirs.add(Path.of(s));
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String home = System.getenv(env);
            if (home != null && !home.isBlank()) addCudaHome(dirs, Path.of(home));
        }
        addCudaHome(dirs, Path.of("/usr/local/cuda"));
        for (Path p : list(Path.of("/usr/local"), "cuda*")) addCudaHome(dirs, p);
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        dirs.add(Path.of("/usr/lib64"));
        dirs.add(Path.of("/usr/local/nvidia/lib64"));
        dirs.add(Path.of("/usr/local/nvidia/lib"));
        dirs.add(Path.of("/usr/lib/wsl/lib"));
        // pip's nvidia-cublas / nvidia-cuda-nvrtc wheels (what PyTorch images carry)
        List<Path> pyRoots = new ArrayList<>();
        for (Path venv : list(Path.of("/opt"), "*")) pyRoots.add(venv.resolve(".venv/lib"));
        pyRoots.add(Path.of("/usr/local/lib"));
        pyRoots.add(Path.of("/usr/lib"));
        for (Path root : pyRoots) {
            for (Path py : list(root, "python3*")) {
                for (String site : new String[] {"site-packages", "dist-packages"}) {
                    for (Path pkg : list(py.resolve(site).resolve("nvidia"), "*")) dirs.add(pkg.resolve("lib"));
                }
            }
        }
        dirs.removeIf(d -> !Files.isDirectory(d));
        return List.copyOf(dirs);
    }

    private static void addCudaHome(Set<Path> dirs, Path home) {
        dirs.add(home.resolve("targets/x86_64-linux/lib"));
        dirs.add(home.resolve("lib64"));
        dirs.add(home.resolve("lib"));
    }

    private static List<Path> list(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, glob)) {
            for (Path p : ds) if (Files.isDirectory(p)) out.add(p);
        } catch (IOException | SecurityException e) {
            // unreadable folder: nothing to find there
        }
        out.sort(null);
        return out;
    }

    // ---- calling: the status checks every binding repeats --------------------------------------

    /** A downcall returning a status (invokeExact declares Throwable). */
    @FunctionalInterface
    interface StatusCall { int call() throws Throwable; }

    /** A downcall that writes a handle through its first argument and returns a status. */
    @FunctionalInterface
    interface HandleCall { int call(java.lang.foreign.MemorySegment out) throws Throwable; }

    /** A library's status check: throws a {@link CudaException} naming the call when the status is not success. */
    @FunctionalInterface
    interface Check { void check(String call, int status); }

    /** Makes {@code c} and checks its status; a failure to call at all becomes a CudaException naming it. */
    static void call(String name, StatusCall c, Check check) {
        int rc;
        try {
            rc = c.call();
        } catch (Throwable t) { throw rethrow(name, t); }
        check.check(name, rc);
    }

    /** Makes {@code c} with a fresh out parameter of {@code layout}, checks its status and returns what {@code read} finds there. */
    static <T> T out(String name, java.lang.foreign.MemoryLayout layout, HandleCall c, Check check,
                     java.util.function.Function<java.lang.foreign.MemorySegment, T> read) {
        try (Arena a = Arena.ofConfined()) {
            java.lang.foreign.MemorySegment v = a.allocate(layout);
            call(name, () -> c.call(v), check);
            return read.apply(v);
        }
    }

    /** {@link #out} for a handle (a pointer). */
    static java.lang.foreign.MemorySegment handle(String name, HandleCall c, Check check) {
        return out(name, java.lang.foreign.ValueLayout.ADDRESS, c, check, v -> v.get(java.lang.foreign.ValueLayout.ADDRESS, 0));
    }

    /** {@link #out} for an int. */
    static int intOut(String name, HandleCall c, Check check) {
        return out(name, java.lang.foreign.ValueLayout.JAVA_INT, c, check, v -> v.get(java.lang.foreign.ValueLayout.JAVA_INT, 0));
    }

    /** What a failed downcall throws: runtime exceptions (a failed check) as they are, anything else wrapped, naming the call. */
    static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new CudaException(call + " could not be called: " + t, t);
    }
}
