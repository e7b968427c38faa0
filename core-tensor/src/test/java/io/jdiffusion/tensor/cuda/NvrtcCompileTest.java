package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Compiles every kernel source with NVRTC, exactly as the backend does at run time, for sm_80 and
 * sm_90. NVRTC needs no GPU, so this runs wherever libnvrtc is found (the usual CUDA folders or
 * $JDIFFUSION_CUDA_LIBS) and is skipped, saying so, elsewhere.
 */
class NvrtcCompileTest {
    private static Nvrtc nvrtc() {
        return NativeLibraries.orSkip("NVRTC not found, kernel sources not compiled", Nvrtc::load);
    }

    @Test
    void everyKernelSourceCompilesForAmpereAndHopper() {
        Nvrtc n = nvrtc();
        Map<String, String> headers = Map.of("common.cuh", CudaBackend.readResource("common.cuh"));
        for (String file : List.of("elementwise", "norm", "shape", "attention", "flash_mma", "conv_mma")) {
            String src = CudaBackend.readResource(file + ".cu");
            for (int cc : new int[] {80, 90}) {
                Nvrtc.Image img = n.compile(file + ".cu", src, headers, cc, List.of());
                byte[] b = img.bytes();
                assertTrue(b.length > 1000, file + " for " + cc + ": " + b.length + " bytes");
                if (img.isCubin()) {
                    assertEquals(0x7f, b[0]);
                    assertEquals('E', b[1]);
                }
                String text = new String(b, StandardCharsets.ISO_8859_1);
                for (String s : new String[] {"f32", "f16", "bf16"}) {
                    if (file.endsWith("_mma") && s.equals("f32")) continue;   // tensor-core kernels are 16-bit only
                    String kernel = switch (file) {
                        case "elementwise" -> "binary_" + s;
                        case "norm" -> "groupnorm_" + s;
                        case "shape" -> "im2col_" + s;
                        case "flash_mma" -> "flash_mma_" + s + "_d64";
                        case "conv_mma" -> "conv_mma_" + s + "_k3";
                        default -> "flash_attn_" + s + "_d128";
                    };
                    assertTrue(text.contains(kernel), file + ".cu compiled without kernel " + kernel);
                }
            }
        }
    }

    @Test
    void aCompileErrorCarriesTheCompilerLog() {
        Nvrtc n = nvrtc();
        CudaException e = assertThrows(CudaException.class,
                () -> n.compile("broken.cu", "extern \"C\" __global__ void k() { undefined_thing(); }", Map.of(), 80, List.of()));
        assertTrue(e.getMessage().contains("nvrtcCompileProgram(broken.cu"), e.getMessage());
        assertTrue(e.getMessage().contains("undefined_thing"), e.getMessage());
    }
}
