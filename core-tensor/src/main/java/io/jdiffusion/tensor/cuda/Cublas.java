package io.jdiffusion.tensor.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static io.jdiffusion.tensor.cuda.NativeLibrary.call;
import static io.jdiffusion.tensor.cuda.NativeLibrary.handle;
import static io.jdiffusion.tensor.cuda.NativeLibrary.rethrow;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLASLt (libcublasLt.so.13, else .12) for linear layers, with bias/GELU epilogues and the
 * heuristic's algorithm choice, and cuBLAS (libcublas.so.13, else .12) for (strided-)batched
 * GEMMs. Both are column-major; {@link CudaBackend} maps row-major products onto them by
 * computing C^T = B^T A^T. Enum values are those of cublas_api.h / cublasLt.h / library_types.h.
 */
@SuppressWarnings("restricted")   // FFM downcalls are the point of this class; the JVM runs with --enable-native-access
final class Cublas {
    // cudaDataType_t
    static final int CUDA_R_32F = 0, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    // cublasComputeType_t
    static final int CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77;
    // cublasOperation_t
    static final int CUBLAS_OP_N = 0, CUBLAS_OP_T = 1;
    static final int CUBLAS_GEMM_DEFAULT = -1;
    // cublasLtMatmulDescAttributes_t
    static final int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8;
    // cublasLtEpilogue_t
    static final int EPILOGUE_DEFAULT = 1, EPILOGUE_BIAS = 4, EPILOGUE_GELU = 32, EPILOGUE_GELU_BIAS = 36;
    // cublasLtMatmulPreferenceAttributes_t
    static final int PREF_MAX_WORKSPACE_BYTES = 1;
    /** sizeof(cublasLtMatmulHeuristicResult_t): algo (8 x uint64), workspaceSize, state, wavesCount, reserved[4]. */
    static final long HEURISTIC_RESULT_BYTES = 96;

    final NativeLibrary lt, blas;
    private final MethodHandle ltCreate, ltDestroy, ltGetVersion, ltStatusName, ltStatusString, descCreate, descDestroy,
            descSet, layoutCreate, layoutDestroy, prefCreate, prefDestroy, prefSet, heuristic, ltMatmul;
    private final MethodHandle create, destroy, setStream, statusName, statusString, gemmEx, gemmStridedBatchedEx;

    private Cublas(NativeLibrary lt, NativeLibrary blas) {
        this.lt = lt;
        this.blas = blas;
        ltCreate = lt.fn("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        ltDestroy = lt.fn("cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        ltGetVersion = lt.fn("cublasLtGetVersion", FunctionDescriptor.of(JAVA_LONG));
        ltStatusName = lt.optional("cublasLtGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        ltStatusString = lt.optional("cublasLtGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        descCreate = lt.fn("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
        descDestroy = lt.fn("cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        descSet = lt.fn("cublasLtMatmulDescSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        layoutCreate = lt.fn("cublasLtMatrixLayoutCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        layoutDestroy = lt.fn("cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefCreate = lt.fn("cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefDestroy = lt.fn("cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        prefSet = lt.fn("cublasLtMatmulPreferenceSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG));
        heuristic = lt.fn("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        ltMatmul = lt.fn("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS,
                JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS));
        create = blas.fn("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = blas.fn("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = blas.fn("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        statusName = blas.optional("cublasGetStatusName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        statusString = blas.optional("cublasGetStatusString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        gemmEx = blas.fn("cublasGemmEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        gemmStridedBatchedEx = blas.fn("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG,
                ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT));
    }

    /** Loads cuBLASLt first: libcublas needs it and then finds it already loaded. */
    static Cublas load() {
        NativeLibrary lt = NativeLibrary.load("cuBLASLt", "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so", "libcublasLt.so.11");
        NativeLibrary blas = NativeLibrary.load("cuBLAS", "libcublas.so.13", "libcublas.so.12", "libcublas.so", "libcublas.so.11");
        return new Cublas(lt, blas);
    }

    long ltVersion() {
        try {
            return (long) ltGetVersion.invokeExact();
        } catch (Throwable t) { throw rethrow("cublasLtGetVersion", t); }
    }

    // ---- status ------------------------------------------------------------------------------

    private static String text(MethodHandle h, int rc, String fallback) {
        if (h == null) return fallback;
        try {
            MemorySegment s = (MemorySegment) h.invokeExact(rc);
            return s.equals(MemorySegment.NULL) ? fallback : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            return fallback;
        }
    }

    void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, text(statusName, rc, "CUBLAS_STATUS_" + rc), text(statusString, rc, ""));
    }

    void checkLt(String call, int rc) {
        if (rc != 0) throw new CudaException(call, rc, text(ltStatusName, rc, "CUBLAS_STATUS_" + rc), text(ltStatusString, rc, ""));
    }


    // ---- cuBLAS ------------------------------------------------------------------------------

    MemorySegment create(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            check("cublasCreate", (int) create.invokeExact(h));
            MemorySegment handle = h.get(ADDRESS, 0);
            check("cublasSetStream", (int) setStream.invokeExact(handle, stream));
            return handle;
        } catch (Throwable t) { throw rethrow("cublasCreate", t); }
    }

    void destroy(MemorySegment handle) {
        call("cublasDestroy", () -> (int) destroy.invokeExact(handle), this::check);
    }

    /** Column-major C[m,n] = op(A)[m,k] op(B)[k,n] (alpha, beta are host F32 scalars). */
    void gemmEx(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha,
                long a, int aType, int lda, long b, int bType, int ldb, MemorySegment beta, long c, int cType, int ldc,
                int computeType) {
        int rc;
        try {
            rc = (int) gemmEx.invokeExact(handle, transa, transb, m, n, k, alpha, a, aType, lda, b, bType, ldb,
                    beta, c, cType, ldc, computeType, CUBLAS_GEMM_DEFAULT);
        } catch (Throwable t) { throw rethrow("cublasGemmEx", t); }
        if (rc != 0) check("cublasGemmEx(m=" + m + ", n=" + n + ", k=" + k + ", type " + aType + ")", rc);
    }

    void gemmStridedBatchedEx(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha,
                              long a, int aType, int lda, long strideA, long b, int bType, int ldb, long strideB,
                              MemorySegment beta, long c, int cType, int ldc, long strideC, int batch, int computeType) {
        int rc;
        try {
            rc = (int) gemmStridedBatchedEx.invokeExact(handle, transa, transb, m, n, k, alpha, a, aType, lda, strideA,
                    b, bType, ldb, strideB, beta, c, cType, ldc, strideC, batch, computeType, CUBLAS_GEMM_DEFAULT);
        } catch (Throwable t) { throw rethrow("cublasGemmStridedBatchedEx", t); }
        if (rc != 0) check("cublasGemmStridedBatchedEx(m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch + ")", rc);
    }

    // ---- cuBLASLt ----------------------------------------------------------------------------

    MemorySegment ltCreate() {
        return handle("cublasLtCreate", v -> (int) ltCreate.invokeExact(v), this::checkLt);
    }

    void ltDestroy(MemorySegment handle) {
        call("cublasLtDestroy", () -> (int) ltDestroy.invokeExact(handle), this::checkLt);
    }

    MemorySegment matmulDesc(int computeType, int scaleType) {
        return handle("cublasLtMatmulDescCreate", v -> (int) descCreate.invokeExact(v, computeType, scaleType), this::checkLt);
    }

    void descSetInt(MemorySegment desc, int attribute, int value) {
        try (Arena a = Arena.ofConfined()) {
            descSet(desc, attribute, a.allocateFrom(JAVA_INT, value));
        }
    }

    void descSetPointer(MemorySegment desc, int attribute, long pointer) {
        try (Arena a = Arena.ofConfined()) {
            descSet(desc, attribute, a.allocateFrom(JAVA_LONG, pointer));
        }
    }

    /** Sets a matmul descriptor attribute from the bytes of {@code value}. */
    private void descSet(MemorySegment desc, int attribute, MemorySegment value) {
        try {
            checkLt("cublasLtMatmulDescSetAttribute(" + attribute + ")", (int) descSet.invokeExact(desc, attribute, value, value.byteSize()));
        } catch (Throwable t) { throw rethrow("cublasLtMatmulDescSetAttribute", t); }
    }

    void descDestroy(MemorySegment desc) {
        call("cublasLtMatmulDescDestroy", () -> (int) descDestroy.invokeExact(desc), this::checkLt);
    }

    /** A column-major rows x cols matrix with leading dimension ld. */
    MemorySegment layout(int type, long rows, long cols, long ld) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ADDRESS);
            checkLt("cublasLtMatrixLayoutCreate(" + rows + "x" + cols + ", ld " + ld + ")",
                    (int) layoutCreate.invokeExact(h, type, rows, cols, ld));
            return h.get(ADDRESS, 0);
        } catch (Throwable t) { throw rethrow("cublasLtMatrixLayoutCreate", t); }
    }

    void layoutDestroy(MemorySegment layout) {
        call("cublasLtMatrixLayoutDestroy", () -> (int) layoutDestroy.invokeExact(layout), this::checkLt);
    }

    /**
     * The heuristic's best algorithm for this problem within {@code workspaceBytes}, copied into
     * {@code algoOut} (64 bytes), or false when it has none.
     */
    boolean heuristic(MemorySegment handle, MemorySegment desc, MemorySegment aL, MemorySegment bL, MemorySegment cL,
                      MemorySegment dL, long workspaceBytes, MemorySegment algoOut) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ph = a.allocate(ADDRESS);
            checkLt("cublasLtMatmulPreferenceCreate", (int) prefCreate.invokeExact(ph));
            MemorySegment pref = ph.get(ADDRESS, 0);
            try {
                MemorySegment ws = a.allocate(JAVA_LONG);
                ws.set(JAVA_LONG, 0, workspaceBytes);
                checkLt("cublasLtMatmulPreferenceSetAttribute", (int) prefSet.invokeExact(pref, PREF_MAX_WORKSPACE_BYTES, ws, 8L));
                MemorySegment results = a.allocate(HEURISTIC_RESULT_BYTES, 16);
                MemorySegment count = a.allocate(JAVA_INT);
                int rc = (int) heuristic.invokeExact(handle, desc, aL, bL, cL, dL, pref, 1, results, count);
                if (rc != 0 || count.get(JAVA_INT, 0) < 1) return false;
                // state field (after the 64-byte algo and the 8-byte workspace size) must be SUCCESS
                if (results.get(JAVA_INT, 72) != 0) return false;
                MemorySegment.copy(results, 0, algoOut, 0, 64);
                return true;
            } finally {
                int ignored = (int) prefDestroy.invokeExact(pref);
            }
        } catch (Throwable t) { throw rethrow("cublasLtMatmulAlgoGetHeuristic", t); }
    }

    void ltMatmul(MemorySegment handle, MemorySegment desc, MemorySegment alpha, long a, MemorySegment aL, long b,
                  MemorySegment bL, MemorySegment beta, long c, MemorySegment cL, long d, MemorySegment dL, MemorySegment algo,
                  long workspace, long workspaceBytes, MemorySegment stream, String what) {
        int rc;
        try {
            rc = (int) ltMatmul.invokeExact(handle, desc, alpha, a, aL, b, bL, beta, c, cL, d, dL, algo, workspace,
                    workspaceBytes, stream);
        } catch (Throwable t) { throw rethrow("cublasLtMatmul", t); }
        if (rc != 0) checkLt("cublasLtMatmul(" + what + ")", rc);
    }
}
