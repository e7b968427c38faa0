/**
 * Tensors, the CPU and CUDA backends, safetensors and weight files. The only jdiffusion module that
 * calls native code (the CUDA driver, NVRTC and cuBLAS through java.lang.foreign), so applications
 * grant native access to it alone: {@code --enable-native-access=io.jdiffusion.tensor}.
 */
// qualified exports name modules that are compiled later ("module not found" at this point)
@SuppressWarnings("module")
module io.jdiffusion.tensor {
    requires com.fasterxml.jackson.databind;
    requires org.slf4j;
    // the opt-in Vector API GEMM kernel, used only when the JVM runs with --add-modules jdk.incubator.vector
    requires static jdk.incubator.vector;

    // what applications use: Backend/Backends/Tensor and the two backends
    exports io.jdiffusion.tensor;
    exports io.jdiffusion.tensor.cpu;
    exports io.jdiffusion.tensor.cuda;
    // the shape-only device: memory, launch and FLOP plans without a GPU (jdiffusion profile)
    exports io.jdiffusion.tensor.meta;
    // building blocks of the model modules, not an API
    exports io.jdiffusion.tensor.nn to io.jdiffusion.text, io.jdiffusion.unet, io.jdiffusion.vae, io.jdiffusion.pipelines;
    exports io.jdiffusion.tensor.random to io.jdiffusion.schedulers, io.jdiffusion.pipelines;
    exports io.jdiffusion.tensor.safetensors to io.jdiffusion.text, io.jdiffusion.unet, io.jdiffusion.vae, io.jdiffusion.pipelines;
    exports io.jdiffusion.tensor.weights to io.jdiffusion.text, io.jdiffusion.unet, io.jdiffusion.vae, io.jdiffusion.pipelines;
}
