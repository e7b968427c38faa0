package io.jdiffusion.tensor.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.jdiffusion.tensor.cuda.NativeLibrary.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NVRTC, CUDA's run-time compiler (libnvrtc.so.13, else .12). Compiles a kernel source for the
 * device's own architecture (sm_XX gives a CUBIN the driver loads without a JIT step); when this
 * NVRTC is older than the device it falls back to PTX for the newest architecture it knows,
 * which the driver then compiles.
 */
@SuppressWarnings("restricted")   // FFM downcalls are the point of this class; the JVM runs with --enable-native-access
final class Nvrtc {
    static final int NVRTC_ERROR_INVALID_OPTION = 5;

    final NativeLibrary lib;
    private final MethodHandle version, getErrorString, createProgram, compileProgram, destroyProgram,
            logSize, log, ptxSize, ptx, cubinSize, cubin, numSupportedArchs, supportedArchs;

    private Nvrtc(NativeLibrary l) {
        lib = l;
        version = l.fn("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        getErrorString = l.fn("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        createProgram = l.fn("nvrtcCreateProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        compileProgram = l.fn("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        destroyProgram = l.fn("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        logSize = l.fn("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        log = l.fn("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        ptxSize = l.fn("nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        ptx = l.fn("nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cubinSize = l.fn("nvrtcGetCUBINSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cubin = l.fn("nvrtcGetCUBIN", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        numSupportedArchs = l.optional("nvrtcGetNumSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        supportedArchs = l.optional("nvrtcGetSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    static Nvrtc load() {
        NativeLibrary lib = NativeLibrary.load("NVRTC (CUDA's run-time compiler)", "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", "libnvrtc.so.11.2");
        lib.preloadSiblings("libnvrtc-builtins.so");
        return new Nvrtc(lib);
    }

    /** "major.minor" of this NVRTC. */
    String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ma = a.allocate(JAVA_INT), mi = a.allocate(JAVA_INT);
            check("nvrtcVersion", (int) version.invokeExact(ma, mi));
            return ma.get(JAVA_INT, 0) + "." + mi.get(JAVA_INT, 0);
        } catch (Throwable t) { throw rethrow("nvrtcVersion", t); }
    }

    /** Compute capabilities (e.g. 90) this NVRTC can target, ascending; empty when it cannot say. */
    int[] supportedArchs() {
        if (numSupportedArchs == null || supportedArchs == null) return new int[0];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(JAVA_INT);
            check("nvrtcGetNumSupportedArchs", (int) numSupportedArchs.invokeExact(n));
            MemorySegment archs = a.allocate(JAVA_INT, Math.max(1, n.get(JAVA_INT, 0)));
            check("nvrtcGetSupportedArchs", (int) supportedArchs.invokeExact(archs));
            return archs.asSlice(0, 4L * n.get(JAVA_INT, 0)).toArray(JAVA_INT);
        } catch (Throwable t) { throw rethrow("nvrtcGetSupportedArchs", t); }
    }

    /** A compiled image: a CUBIN, or PTX text (NUL-terminated) for the driver to compile. */
    record Image(byte[] bytes, boolean isCubin, String arch) {}

    /**
     * Compiles {@code source} (named {@code name} in messages) with in-memory {@code headers}
     * (include name → text) for compute capability {@code cc} (e.g. 90). Failure → a
     * {@link CudaException} carrying the compiler log.
     */
    Image compile(String name, String source, Map<String, String> headers, int cc, List<String> extraOptions) {
        try {
            return compileFor(name, source, headers, "sm_" + cc, true, extraOptions);
        } catch (CudaException e) {
            if (e.code() != NVRTC_ERROR_INVALID_OPTION) throw e;
            int[] archs = supportedArchs();
            if (archs.length == 0) throw e;
            int best = archs[archs.length - 1];
            return compileFor(name, source, headers, "compute_" + Math.min(best, cc), false, extraOptions);
        }
    }

    private Image compileFor(String name, String source, Map<String, String> headers, String arch, boolean cubinOut,
                             List<String> extraOptions) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progPtr = a.allocate(ADDRESS);
            int nh = headers.size();
            MemorySegment hdrs = a.allocate(ADDRESS, Math.max(1, nh)), names = a.allocate(ADDRESS, Math.max(1, nh));
            int i = 0;
            for (var e : headers.entrySet()) {
                hdrs.setAtIndex(ADDRESS, i, a.allocateFrom(e.getValue()));
                names.setAtIndex(ADDRESS, i, a.allocateFrom(e.getKey()));
                i++;
            }
            // locals, not conditional expressions: invokeExact takes the static types of its arguments
            MemorySegment hdrArg = nh == 0 ? MemorySegment.NULL : hdrs, nameArg = nh == 0 ? MemorySegment.NULL : names;
            MemorySegment srcArg = a.allocateFrom(source), progName = a.allocateFrom(name);
            check("nvrtcCreateProgram(" + name + ")", (int) createProgram.invokeExact(progPtr, srcArg, progName, nh, hdrArg, nameArg));
            MemorySegment prog = progPtr.get(ADDRESS, 0);
            try {
                List<String> opts = new ArrayList<>();
                opts.add("--gpu-architecture=" + arch);
                opts.add("--std=c++17");
                opts.add("-default-device");
                opts.addAll(extraOptions);
                MemorySegment optv = a.allocate(ADDRESS, opts.size());
                for (int k = 0; k < opts.size(); k++) optv.setAtIndex(ADDRESS, k, a.allocateFrom(opts.get(k)));
                int rc = (int) compileProgram.invokeExact(prog, opts.size(), optv);
                if (rc != 0) {
                    throw new CudaException("nvrtcCompileProgram(" + name + ", " + String.join(" ", opts) + ")", rc,
                            errorString(rc), "compiler log:\n" + programLog(a, prog));
                }
                MemorySegment size = a.allocate(JAVA_LONG);
                byte[] bytes;
                if (cubinOut) {
                    check("nvrtcGetCUBINSize", (int) cubinSize.invokeExact(prog, size));
                    MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
                    check("nvrtcGetCUBIN", (int) cubin.invokeExact(prog, buf));
                    bytes = buf.toArray(JAVA_BYTE);
                } else {
                    check("nvrtcGetPTXSize", (int) ptxSize.invokeExact(prog, size));
                    MemorySegment buf = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
                    check("nvrtcGetPTX", (int) ptx.invokeExact(prog, buf));
                    bytes = buf.toArray(JAVA_BYTE);
                }
                return new Image(bytes, cubinOut, arch);
            } finally {
                int ignored = (int) destroyProgram.invokeExact(progPtr);
            }
        } catch (Throwable t) { throw rethrow("nvrtcCompileProgram(" + name + ")", t); }
    }

    private String programLog(Arena a, MemorySegment prog) {
        try {
            MemorySegment n = a.allocate(JAVA_LONG);
            if ((int) logSize.invokeExact(prog, n) != 0) return "(no log)";
            MemorySegment buf = a.allocate(Math.max(1, n.get(JAVA_LONG, 0)));
            if ((int) log.invokeExact(prog, buf) != 0) return "(no log)";
            return buf.getString(0);
        } catch (Throwable t) {
            return "(log unavailable: " + t + ")";
        }
    }

    String errorString(int rc) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(rc);
            return s.equals(MemorySegment.NULL) ? "NVRTC_ERROR_" + rc : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return "NVRTC_ERROR_" + rc;
        }
    }

    private void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, errorString(rc), null);
    }

}
