package io.jdiffusion.tensor.cuda;

/**
 * A failed CUDA, NVRTC or cuBLAS call, or CUDA being unusable here. The message names the call
 * and, where the library reported one, its error name and description.
 */
public class CudaException extends RuntimeException {
    private final String call;
    private final int code;

    public CudaException(String message) {
        super(message);
        this.call = null;
        this.code = 0;
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
        this.call = null;
        this.code = 0;
    }

    /** {@code call} returned {@code code}, which the library names {@code name} and describes as {@code description}. */
    public CudaException(String call, int code, String name, String description) {
        super(call + " failed: " + name + " (" + code + ")" + (description == null || description.isEmpty() ? "" : ": " + description));
        this.call = call;
        this.code = code;
    }

    /** The native function that failed, or null when this is not about one call. */
    public String call() { return call; }

    /** The status code the call returned (0 when not about one call). */
    public int code() { return code; }
}
