package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every kernel the backend launches is defined, for every storage type, in the source file it is
 * launched from: catches a misspelt kernel or file name without a GPU (which would otherwise
 * only show as CUDA_ERROR_NOT_FOUND at run time). Reads CudaBackend.java from the module's
 * source folder (the working directory is the module under Maven, the repository root in the GPU check).
 */
class KernelNamesTest {
    @Test
    void everyLaunchedKernelIsInstantiatedForEveryType() throws Exception {
        String rel = "src/main/java/io/jdiffusion/tensor/cuda/CudaBackend.java";
        Path src = Path.of(rel);
        if (!Files.exists(src)) src = Path.of("core-tensor").resolve(rel);   // run from the repository root (the GPU check)
        Assumptions.assumeTrue(Files.exists(src), "CudaBackend.java not found from " + Path.of("").toAbsolutePath());
        String java = Files.readString(src);
        Matcher m = Pattern.compile("launch(?:N|Packed)?\\(\"([a-z]+)\", \"([a-z0-9_]+?)_\" \\+ suffix\\(").matcher(java);
        Map<String, String> launched = new LinkedHashMap<>();
        while (m.find()) launched.put(m.group(2), m.group(1));
        assertEquals(18, launched.size(), "kernel families launched: " + launched);
        for (var e : launched.entrySet()) {
            String family = e.getKey(), file = e.getValue();
            String cu = CudaBackend.readResource(file + ".cu");
            if (family.equals("cast")) {
                Map<String, String> type = Map.of("f32", "float", "f16", "f16", "bf16", "bf16");
                for (String a : type.keySet())
                    for (String b : type.keySet())
                        if (!a.equals(b)) {
                            String inst = "CAST(" + a + ", " + type.get(a) + ", " + b + ", " + type.get(b) + ")";
                            assertTrue(cu.contains(inst), file + ".cu lacks " + inst);
                        }
                continue;
            }
            assertTrue(cu.contains(" " + family + "_##s"), file + ".cu defines no kernel " + family + "_<type> (launched by CudaBackend)");
            assertTrue(cu.contains("FOR_EACH_TYPE("), file + ".cu does not instantiate its kernels for each type");
        }
        // head-size buckets of attention: the Java side picks d32..d512
        String att = CudaBackend.readResource("attention.cu");
        for (int d : new int[] {32, 64, 128, 256, 512}) {
            assertTrue(att.contains("flash_attn_##s##_d" + d + "("), "attention.cu lacks the d" + d + " kernel");
            assertTrue(java.contains("bucket = " + d), "CudaBackend does not choose the d" + d + " kernel");
        }
        // tensor-core attention: a kernel for every head size fusedHeadSize accepts, for both 16-bit types
        String mma = CudaBackend.readResource("flash_mma.cu");
        assertTrue(mma.contains("FM_TYPE(f16, f16)") && mma.contains("FM_TYPE(bf16, bf16)"), "flash_mma.cu lacks a 16-bit type");
        for (int d = 1; d <= 512; d++) {
            boolean has = mma.contains("FM_KERNEL(s, T, " + d + ")");
            assertEquals(CudaBackend.fusedHeadSize(d), has, "flash_mma.cu kernel for head size " + d + " vs fusedHeadSize");
        }
        // implicit-GEMM convolution: the three kernel-size variants CudaBackend picks, for both 16-bit types
        String conv = CudaBackend.readResource("conv_mma.cu");
        assertTrue(java.contains("launch(\"conv_mma\", \"conv_mma_\" + suffix(computeType) + \"_\" + variant"), "CudaBackend's conv_mma launch");
        assertTrue(conv.contains("CM_TYPE(f16, f16)") && conv.contains("CM_TYPE(bf16, bf16)"), "conv_mma.cu lacks a 16-bit type");
        for (String v : new String[] {"k1", "k3", "kn"}) {
            assertTrue(java.contains("\"" + v + "\""), "CudaBackend does not choose conv_mma variant " + v);
            assertTrue(conv.contains("CM_KERNEL(s, T, " + v + ","), "conv_mma.cu lacks variant " + v);
        }
    }
}
