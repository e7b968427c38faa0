package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cuBLAS/cuBLASLt bindings against the real libraries, where they are found: every symbol
 * resolves, and the host-only descriptor calls accept our attribute ids, value sizes and enum
 * values (cuBLASLt checks each value's size). Needs no GPU.
 */
class CublasBindingTest {
    @Test
    void descriptorsAndLayoutsAcceptOurAttributes() {
        Cublas b = NativeLibraries.orSkip("cuBLAS not found, bindings not checked", Cublas::load);
        assertTrue(b.ltVersion() > 0, "cublasLtGetVersion");
        for (int type : new int[] {Cublas.CUDA_R_32F, Cublas.CUDA_R_16F, Cublas.CUDA_R_16BF}) {
            MemorySegment desc = b.matmulDesc(Cublas.CUBLAS_COMPUTE_32F, Cublas.CUDA_R_32F);
            b.descSetInt(desc, Cublas.DESC_TRANSA, Cublas.CUBLAS_OP_T);
            b.descSetInt(desc, Cublas.DESC_TRANSB, Cublas.CUBLAS_OP_N);
            for (int epi : new int[] {Cublas.EPILOGUE_DEFAULT, Cublas.EPILOGUE_BIAS, Cublas.EPILOGUE_GELU, Cublas.EPILOGUE_GELU_BIAS}) {
                b.descSetInt(desc, Cublas.DESC_EPILOGUE, epi);
            }
            b.descSetPointer(desc, Cublas.DESC_BIAS_POINTER, 0x10000L);
            MemorySegment layout = b.layout(type, 640, 2048, 640);
            assertFalse(layout.equals(MemorySegment.NULL));
            b.layoutDestroy(layout);
            b.descDestroy(desc);
        }
        MemorySegment desc = b.matmulDesc(Cublas.CUBLAS_COMPUTE_32F, Cublas.CUDA_R_32F);
        // the library checks value sizes: a 4-byte value for the 8-byte bias pointer is refused, named
        CudaException e = assertThrows(CudaException.class, () -> b.descSetInt(desc, Cublas.DESC_BIAS_POINTER, 1));
        assertTrue(e.getMessage().startsWith("cublasLtMatmulDescSetAttribute(8) failed: CUBLAS_STATUS_INVALID_VALUE"), e.getMessage());
        b.descDestroy(desc);
    }
}
