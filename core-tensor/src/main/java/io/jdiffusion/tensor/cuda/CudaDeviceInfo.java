package io.jdiffusion.tensor.cuda;

/** What was found: the device, the driver and the libraries the CUDA backend uses. */
public record CudaDeviceInfo(int ordinal, String name, int ccMajor, int ccMinor, int multiprocessors, long totalMemory,
                             int driverVersion, String nvrtcVersion, long cublasLtVersion, String driverLibrary,
                             String nvrtcLibrary, String cublasLibrary) {
    /** e.g. 90 for compute capability 9.0. */
    public int computeCapability() { return ccMajor * 10 + ccMinor; }

    /** "13.0" for the driver's 13000. */
    public String driverVersionString() { return driverVersion / 1000 + "." + (driverVersion % 1000) / 10; }

    @Override
    public String toString() {
        return String.format("%s (cuda:%d, compute capability %d.%d, %d SMs, %d MiB), driver %s, NVRTC %s, cuBLASLt %d",
                name, ordinal, ccMajor, ccMinor, multiprocessors, totalMemory >> 20, driverVersionString(), nvrtcVersion,
                cublasLtVersion);
    }
}
