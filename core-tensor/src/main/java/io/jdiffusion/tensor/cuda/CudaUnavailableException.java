package io.jdiffusion.tensor.cuda;

/** CUDA cannot be used on this machine: a library is missing or no device is present. The message says which. */
public class CudaUnavailableException extends CudaException {
    public CudaUnavailableException(String message) { super(message); }

    public CudaUnavailableException(String message, Throwable cause) { super(message, cause); }
}
