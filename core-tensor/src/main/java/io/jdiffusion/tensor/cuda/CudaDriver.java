package io.jdiffusion.tensor.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.jdiffusion.tensor.cuda.NativeLibrary.call;
import static io.jdiffusion.tensor.cuda.NativeLibrary.handle;
import static io.jdiffusion.tensor.cuda.NativeLibrary.intOut;
import static io.jdiffusion.tensor.cuda.NativeLibrary.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The CUDA driver API (libcuda.so.1) through FFM downcalls. Handles (CUcontext, CUstream, ...)
 * are opaque pointers, device pointers are {@code long}s (CUdeviceptr is 64-bit). Every wrapper
 * checks the CUresult and throws {@link CudaException} with CUDA's error name and string.
 * Entry points with a _v2 suffix are the ones cuda.h maps the plain names to.
 */
@SuppressWarnings("restricted")   // FFM downcalls are the point of this class; the JVM runs with --enable-native-access
final class CudaDriver {
    static final int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    static final int CUDA_ERROR_NO_DEVICE = 100;
    /** cuStreamBeginCapture's mode that lets other threads (and the caching allocator's cuMemAlloc) make unsafe calls. */
    static final int CU_STREAM_CAPTURE_MODE_RELAXED = 2;
    /** cuStreamIsCapturing's statuses. */
    static final int CU_STREAM_CAPTURE_STATUS_NONE = 0, CU_STREAM_CAPTURE_STATUS_ACTIVE = 1;

    final NativeLibrary lib;
    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease,
            cuCtxSetCurrent, cuCtxSynchronize, cuMemAlloc, cuMemFree, cuMemAllocAsync, cuMemFreeAsync,
            cuMemGetInfo, cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyHtoDAsync, cuMemcpyDtoHAsync,
            cuMemcpyDtoDAsync, cuMemsetD8Async, cuStreamCreate, cuStreamSynchronize, cuStreamDestroy,
            cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventElapsedTime, cuEventDestroy,
            cuModuleLoadData, cuModuleGetFunction, cuModuleUnload, cuLaunchKernel, cuGetErrorName,
            cuGetErrorString;
    /** Stream capture and graphs (CUDA 11.4+ drivers); null where the driver lacks one, see {@link #graphsMissing()}. */
    private final MethodHandle cuStreamBeginCapture, cuStreamEndCapture, cuStreamIsCapturing, cuGraphInstantiateWithFlags,
            cuGraphLaunch, cuGraphExecDestroy, cuGraphDestroy;

    private CudaDriver(NativeLibrary l) {
        lib = l;
        cuInit = l.fn("cuInit", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuDriverGetVersion = l.fn("cuDriverGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGetCount = l.fn("cuDeviceGetCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuDeviceGet = l.fn("cuDeviceGet", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDeviceGetName = l.fn("cuDeviceGetName", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceGetAttribute = l.fn("cuDeviceGetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        cuDeviceTotalMem = l.fn("cuDeviceTotalMem_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRetain = l.fn("cuDevicePrimaryCtxRetain", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuDevicePrimaryCtxRelease = l.fn("cuDevicePrimaryCtxRelease_v2", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        cuCtxSetCurrent = l.fn("cuCtxSetCurrent", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuCtxSynchronize = l.fn("cuCtxSynchronize", FunctionDescriptor.of(JAVA_INT));
        cuMemAlloc = l.fn("cuMemAlloc_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        cuMemFree = l.fn("cuMemFree_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        cuMemAllocAsync = l.fn("cuMemAllocAsync", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS));
        cuMemFreeAsync = l.fn("cuMemFreeAsync", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
        cuMemGetInfo = l.fn("cuMemGetInfo_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuMemcpyHtoD = l.fn("cuMemcpyHtoD_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG));
        cuMemcpyDtoH = l.fn("cuMemcpyDtoH_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
        cuMemcpyHtoDAsync = l.fn("cuMemcpyHtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS));
        cuMemcpyDtoHAsync = l.fn("cuMemcpyDtoHAsync_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemcpyDtoDAsync = l.fn("cuMemcpyDtoDAsync_v2", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS));
        cuMemsetD8Async = l.fn("cuMemsetD8Async", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_BYTE, JAVA_LONG, ADDRESS));
        cuStreamCreate = l.fn("cuStreamCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamSynchronize = l.fn("cuStreamSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuStreamDestroy = l.fn("cuStreamDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuEventCreate = l.fn("cuEventCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuEventRecord = l.fn("cuEventRecord", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuEventSynchronize = l.fn("cuEventSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle elapsed = l.optional("cuEventElapsedTime_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuEventElapsedTime = elapsed != null ? elapsed : l.fn("cuEventElapsedTime", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuEventDestroy = l.fn("cuEventDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuModuleLoadData = l.fn("cuModuleLoadData", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuModuleGetFunction = l.fn("cuModuleGetFunction", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuModuleUnload = l.fn("cuModuleUnload", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuLaunchKernel = l.fn("cuLaunchKernel", FunctionDescriptor.of(JAVA_INT, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        cuGetErrorName = l.fn("cuGetErrorName", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuGetErrorString = l.fn("cuGetErrorString", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        cuStreamBeginCapture = l.optional("cuStreamBeginCapture_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        cuStreamEndCapture = l.optional("cuStreamEndCapture", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuStreamIsCapturing = l.optional("cuStreamIsCapturing", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuGraphInstantiateWithFlags = l.optional("cuGraphInstantiateWithFlags", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        cuGraphLaunch = l.optional("cuGraphLaunch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cuGraphExecDestroy = l.optional("cuGraphExecDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cuGraphDestroy = l.optional("cuGraphDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    }

    private static volatile CudaDriver instance;
    private static volatile CudaUnavailableException failure;

    /** The driver, loaded and cuInit'ed once; throws {@link CudaUnavailableException} saying why not. */
    static CudaDriver get() {
        CudaDriver d = instance;
        if (d != null) return d;
        synchronized (CudaDriver.class) {
            if (instance != null) return instance;
            if (failure != null) throw failure;
            try {
                CudaDriver drv = new CudaDriver(NativeLibrary.load("the CUDA driver", "libcuda.so.1", "libcuda.so"));
                int rc = drv.rawInit();
                if (rc == CUDA_ERROR_NO_DEVICE) {
                    throw new CudaUnavailableException("no CUDA device: cuInit says " + drv.errorName(rc) + " (" + drv.errorString(rc)
                            + "); the driver was loaded from " + drv.lib.location);
                }
                if (rc != 0) {
                    throw new CudaUnavailableException("cuInit failed: " + drv.errorName(rc) + " (" + rc + "): " + drv.errorString(rc)
                            + "; the driver was loaded from " + drv.lib.location);
                }
                instance = drv;
                return drv;
            } catch (CudaUnavailableException e) {
                failure = e;
                throw e;
            }
        }
    }

    private int rawInit() {
        try {
            return (int) cuInit.invokeExact(0);
        } catch (Throwable t) {
            throw new CudaUnavailableException("cuInit could not be called", t);
        }
    }

    // ---- errors ------------------------------------------------------------------------------

    String errorName(int rc) { return errorText(cuGetErrorName, rc, "CUDA_ERROR_" + rc); }

    String errorString(int rc) { return errorText(cuGetErrorString, rc, ""); }

    private static String errorText(MethodHandle h, int rc, String fallback) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            int r = (int) h.invokeExact(rc, p);
            MemorySegment s = p.get(ADDRESS, 0);
            if (r != 0 || s.equals(MemorySegment.NULL)) return fallback;
            return s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return fallback;
        }
    }

    void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, errorName(rc), errorString(rc));
    }


    // ---- device and context ------------------------------------------------------------------

    int driverVersion() {
        return intOut("cuDriverGetVersion", v -> (int) cuDriverGetVersion.invokeExact(v), this::check);
    }

    int deviceCount() {
        return intOut("cuDeviceGetCount", v -> (int) cuDeviceGetCount.invokeExact(v), this::check);
    }

    int device(int ordinal) {
        return intOut("cuDeviceGet(" + ordinal + ")", v -> (int) cuDeviceGet.invokeExact(v, ordinal), this::check);
    }

    String deviceName(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(256);
            check("cuDeviceGetName", (int) cuDeviceGetName.invokeExact(s, 256, dev));
            return s.getString(0);
        } catch (Throwable t) { throw rethrow("cuDeviceGetName", t); }
    }

    int attribute(int dev, int attribute) {
        return intOut("cuDeviceGetAttribute(" + attribute + ")", v -> (int) cuDeviceGetAttribute.invokeExact(v, attribute, dev), this::check);
    }

    long totalMemory(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            check("cuDeviceTotalMem", (int) cuDeviceTotalMem.invokeExact(v, dev));
            return v.get(JAVA_LONG, 0);
        } catch (Throwable t) { throw rethrow("cuDeviceTotalMem", t); }
    }

    /** free and total bytes of the current context's device. */
    long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), t = a.allocate(JAVA_LONG);
            check("cuMemGetInfo", (int) cuMemGetInfo.invokeExact(f, t));
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        } catch (Throwable t) { throw rethrow("cuMemGetInfo", t); }
    }

    MemorySegment primaryContextRetain(int dev) {
        return handle("cuDevicePrimaryCtxRetain", v -> (int) cuDevicePrimaryCtxRetain.invokeExact(v, dev), this::check);
    }

    void primaryContextRelease(int dev) {
        call("cuDevicePrimaryCtxRelease", () -> (int) cuDevicePrimaryCtxRelease.invokeExact(dev), this::check);
    }

    void setCurrent(MemorySegment ctx) {
        call("cuCtxSetCurrent", () -> (int) cuCtxSetCurrent.invokeExact(ctx), this::check);
    }

    void synchronize() {
        call("cuCtxSynchronize", () -> (int) cuCtxSynchronize.invokeExact(), this::check);
    }

    // ---- memory ------------------------------------------------------------------------------

    /** cuMemAlloc; returns the status (callers retry after emptying caches on CUDA_ERROR_OUT_OF_MEMORY). */
    int memAllocStatus(long bytes, long[] out) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            int rc = (int) cuMemAlloc.invokeExact(v, bytes);
            out[0] = v.get(JAVA_LONG, 0);
            return rc;
        } catch (Throwable t) { throw rethrow("cuMemAlloc", t); }
    }

    void memFree(long ptr) {
        call("cuMemFree", () -> (int) cuMemFree.invokeExact(ptr), this::check);
    }

    long memAllocAsync(long bytes, MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_LONG);
            check("cuMemAllocAsync(" + bytes + " bytes)", (int) cuMemAllocAsync.invokeExact(v, bytes, stream));
            return v.get(JAVA_LONG, 0);
        } catch (Throwable t) { throw rethrow("cuMemAllocAsync", t); }
    }

    void memFreeAsync(long ptr, MemorySegment stream) {
        call("cuMemFreeAsync", () -> (int) cuMemFreeAsync.invokeExact(ptr, stream), this::check);
    }

    void memcpyHtoD(long dst, MemorySegment src, long bytes) {
        call("cuMemcpyHtoD", () -> (int) cuMemcpyHtoD.invokeExact(dst, src, bytes), this::check);
    }

    void memcpyDtoH(MemorySegment dst, long src, long bytes) {
        call("cuMemcpyDtoH", () -> (int) cuMemcpyDtoH.invokeExact(dst, src, bytes), this::check);
    }

    void memcpyHtoDAsync(long dst, MemorySegment src, long bytes, MemorySegment stream) {
        call("cuMemcpyHtoDAsync", () -> (int) cuMemcpyHtoDAsync.invokeExact(dst, src, bytes, stream), this::check);
    }

    void memcpyDtoHAsync(MemorySegment dst, long src, long bytes, MemorySegment stream) {
        call("cuMemcpyDtoHAsync", () -> (int) cuMemcpyDtoHAsync.invokeExact(dst, src, bytes, stream), this::check);
    }

    void memcpyDtoDAsync(long dst, long src, long bytes, MemorySegment stream) {
        call("cuMemcpyDtoDAsync", () -> (int) cuMemcpyDtoDAsync.invokeExact(dst, src, bytes, stream), this::check);
    }

    void memsetD8Async(long dst, byte value, long bytes, MemorySegment stream) {
        call("cuMemsetD8Async", () -> (int) cuMemsetD8Async.invokeExact(dst, value, bytes, stream), this::check);
    }

    // ---- streams and events ------------------------------------------------------------------

    MemorySegment streamCreate() {
        return handle("cuStreamCreate", v -> (int) cuStreamCreate.invokeExact(v, 0), this::check);
    }

    void streamSynchronize(MemorySegment stream) {
        call("cuStreamSynchronize", () -> (int) cuStreamSynchronize.invokeExact(stream), this::check);
    }

    void streamDestroy(MemorySegment stream) {
        call("cuStreamDestroy", () -> (int) cuStreamDestroy.invokeExact(stream), this::check);
    }

    MemorySegment eventCreate() {
        return handle("cuEventCreate", v -> (int) cuEventCreate.invokeExact(v, 0), this::check);
    }

    void eventRecord(MemorySegment event, MemorySegment stream) {
        call("cuEventRecord", () -> (int) cuEventRecord.invokeExact(event, stream), this::check);
    }

    void eventSynchronize(MemorySegment event) {
        call("cuEventSynchronize", () -> (int) cuEventSynchronize.invokeExact(event), this::check);
    }

    float eventElapsedMillis(MemorySegment start, MemorySegment end) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(JAVA_FLOAT);
            check("cuEventElapsedTime", (int) cuEventElapsedTime.invokeExact(v, start, end));
            return v.get(JAVA_FLOAT, 0);
        } catch (Throwable t) { throw rethrow("cuEventElapsedTime", t); }
    }

    void eventDestroy(MemorySegment event) {
        call("cuEventDestroy", () -> (int) cuEventDestroy.invokeExact(event), this::check);
    }

    // ---- stream capture and graphs ------------------------------------------------------------

    /** The graph entry points this driver lacks, by name (empty: CUDA graphs can be used). */
    java.util.List<String> graphsMissing() {
        java.util.List<String> missing = new java.util.ArrayList<>();
        if (cuStreamBeginCapture == null) missing.add("cuStreamBeginCapture_v2");
        if (cuStreamEndCapture == null) missing.add("cuStreamEndCapture");
        if (cuStreamIsCapturing == null) missing.add("cuStreamIsCapturing");
        if (cuGraphInstantiateWithFlags == null) missing.add("cuGraphInstantiateWithFlags");
        if (cuGraphLaunch == null) missing.add("cuGraphLaunch");
        if (cuGraphExecDestroy == null) missing.add("cuGraphExecDestroy");
        if (cuGraphDestroy == null) missing.add("cuGraphDestroy");
        return missing;
    }

    /** Starts capturing {@code stream}'s work into a graph, in relaxed mode (cuMemAlloc stays allowed). */
    void streamBeginCapture(MemorySegment stream) {
        call("cuStreamBeginCapture", () -> (int) cuStreamBeginCapture.invokeExact(stream, CU_STREAM_CAPTURE_MODE_RELAXED), this::check);
    }

    /** Ends the capture and returns its graph; throws (after ending it) when the capture was invalidated. */
    MemorySegment streamEndCapture(MemorySegment stream) {
        return handle("cuStreamEndCapture", v -> (int) cuStreamEndCapture.invokeExact(stream, v), this::check);
    }

    /** CU_STREAM_CAPTURE_STATUS_NONE (0), _ACTIVE (1) or _INVALIDATED (2). */
    int streamCaptureStatus(MemorySegment stream) {
        return intOut("cuStreamIsCapturing", v -> (int) cuStreamIsCapturing.invokeExact(stream, v), this::check);
    }

    MemorySegment graphInstantiate(MemorySegment graph) {
        return handle("cuGraphInstantiateWithFlags", v -> (int) cuGraphInstantiateWithFlags.invokeExact(v, graph, 0L), this::check);
    }

    void graphLaunch(MemorySegment exec, MemorySegment stream) {
        call("cuGraphLaunch", () -> (int) cuGraphLaunch.invokeExact(exec, stream), this::check);
    }

    void graphExecDestroy(MemorySegment exec) {
        call("cuGraphExecDestroy", () -> (int) cuGraphExecDestroy.invokeExact(exec), this::check);
    }

    void graphDestroy(MemorySegment graph) {
        call("cuGraphDestroy", () -> (int) cuGraphDestroy.invokeExact(graph), this::check);
    }

    // ---- modules and launches ----------------------------------------------------------------

    MemorySegment moduleLoadData(MemorySegment image, String what) {
        return handle("cuModuleLoadData(" + what + ")", v -> (int) cuModuleLoadData.invokeExact(v, image), this::check);
    }

    MemorySegment moduleGetFunction(MemorySegment module, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment cName = a.allocateFrom(name);
            return handle("cuModuleGetFunction(" + name + ")", v -> (int) cuModuleGetFunction.invokeExact(v, module, cName), this::check);
        }
    }

    void moduleUnload(MemorySegment module) {
        call("cuModuleUnload", () -> (int) cuModuleUnload.invokeExact(module), this::check);
    }

    void launch(String name, MemorySegment function, int gx, int gy, int gz, int bx, int by, int bz,
                int sharedBytes, MemorySegment stream, MemorySegment params) {
        int rc;
        try {
            rc = (int) cuLaunchKernel.invokeExact(function, gx, gy, gz, bx, by, bz, sharedBytes, stream, params, MemorySegment.NULL);
        } catch (Throwable t) { throw rethrow("cuLaunchKernel", t); }
        if (rc != 0) {
            check("cuLaunchKernel(" + name + ", grid " + gx + "x" + gy + "x" + gz + ", block " + bx + "x" + by + "x" + bz
                    + ", shared " + sharedBytes + ")", rc);
        }
    }
}
