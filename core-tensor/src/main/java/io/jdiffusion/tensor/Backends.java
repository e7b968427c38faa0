package io.jdiffusion.tensor;

import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.cuda.CudaBackend;
import io.jdiffusion.tensor.cuda.CudaDeviceInfo;
import io.jdiffusion.tensor.cuda.CudaUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * Which {@link Backend} to compute on. By default CUDA when a device, the driver, NVRTC and
 * cuBLAS are all present, else the CPU; forced with the system property {@code jdiffusion.backend}
 * or the environment variable {@code JDIFFUSION_BACKEND} ({@code cpu}, {@code cuda} or
 * {@code auto}; the property wins). Asking for CUDA where it cannot run is an error that says
 * what is missing, never a silent fall back to the CPU.
 *
 * <p>CUDA settings: {@code jdiffusion.cuda.dtype} / {@code JDIFFUSION_CUDA_DTYPE} (f32, f16, bf16;
 * default f16), {@code jdiffusion.cuda.device} / {@code JDIFFUSION_CUDA_DEVICE} (ordinal, default
 * 0) and {@code jdiffusion.cuda.budget} / {@code JDIFFUSION_CUDA_BUDGET} (device bytes the
 * backend may reserve, with an optional k/m/g suffix; default unlimited).
 *
 * <p>Nothing of CUDA is loaded unless the choice is auto or cuda and a backend is asked for.
 */
public final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    public static final String PROPERTY = "jdiffusion.backend";
    public static final String ENV = "JDIFFUSION_BACKEND";

    /** The kinds a user may ask for. */
    public enum Choice { AUTO, CPU, CUDA }

    private static Backend defaultBackend;

    private Backends() {}

    /** The process-wide backend of the configured choice, made (and its choice logged) once. */
    public static synchronized Backend get() {
        if (defaultBackend == null) defaultBackend = create(configuredChoice());
        return defaultBackend;
    }

    /** The choice the property / environment ask for (AUTO when neither is set). */
    public static Choice configuredChoice() {
        String p = System.getProperty(PROPERTY);
        if (p != null && !p.isBlank()) return parse(p, "system property " + PROPERTY);
        String e = System.getenv(ENV);
        if (e != null && !e.isBlank()) return parse(e, "environment variable " + ENV);
        return Choice.AUTO;
    }

    /** Parses a backend name; {@code source} names where it came from for the error message. */
    public static Choice parse(String value, String source) {
        return switch (value.trim().toLowerCase(Locale.ROOT)) {
            case "auto" -> Choice.AUTO;
            case "cpu" -> Choice.CPU;
            case "cuda", "gpu" -> Choice.CUDA;
            default -> throw new IllegalArgumentException(source + " is '" + value + "'; allowed: cpu, cuda, auto");
        };
    }

    /** A new backend of this choice (the CPU backend is a shared instance). */
    public static Backend create(Choice choice) {
        switch (choice) {
            case CPU -> {
                LOG.info("backend: cpu (asked for)");
                return CpuBackend.INSTANCE;
            }
            case CUDA -> {
                return cuda(cudaDType(), PROPERTY + " / " + ENV + " = cuda");
            }
            default -> {
                CudaAvailability a = cudaAvailability();
                if (!a.available()) {
                    // the usual case on a machine without a GPU: not worth a line (the reason names every
                    // library path searched); debug level shows it when CUDA was expected
                    LOG.debug("backend: cpu (CUDA not usable: {})", a.reason());
                    return CpuBackend.INSTANCE;
                }
                return cuda(cudaDType(), "auto, and " + a.reason());
            }
        }
    }

    /** A new CUDA backend storing {@code dtype}; {@code askedBy} says who asked, for the error when CUDA cannot run. */
    private static Backend cuda(DType dtype, String askedBy) {
        try {
            CudaBackend b = CudaBackend.create(cudaDevice(), dtype, cudaBudget());
            LOG.info("backend: cuda on {}, storing {}", b.info(), b.computeType());
            return b;
        } catch (CudaUnavailableException e) {
            throw new CudaUnavailableException("the CUDA backend was asked for (" + askedBy + ") but cannot run here: " + e.getMessage(), e);
        }
    }

    /** The names {@link #named} takes. */
    public static final String NAMES = "cpu, cuda, cuda-f32, cuda-f16, cuda-bf16, auto";

    /**
     * A new backend by name, for tools that set several side by side (benchmarks, checks): {@code cpu},
     * {@code cuda} (storing the configured {@link #cudaDType()}), {@code cuda-f32}, {@code cuda-f16},
     * {@code cuda-bf16} (storing that dtype), or {@code auto}. The CUDA device and budget are the
     * configured ones. The caller closes it (closing the shared CPU backend does nothing).
     */
    public static Backend named(String name) {
        String asked = "backend '" + name + "'";
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "cpu" -> CpuBackend.INSTANCE;
            case "auto" -> create(Choice.AUTO);
            case "cuda", "gpu" -> cuda(cudaDType(), asked);
            case "cuda-f32" -> cuda(DType.F32, asked);
            case "cuda-f16" -> cuda(DType.F16, asked);
            case "cuda-bf16" -> cuda(DType.BF16, asked);
            default -> throw new IllegalArgumentException(asked + "; allowed: " + NAMES);
        };
    }

    /** Whether CUDA can run here, and what was found or why not. */
    public record CudaAvailability(boolean available, CudaDeviceInfo info, String reason) {}

    private static CudaAvailability availability;

    /** Probes (once) for the driver, a device, NVRTC and cuBLAS. */
    public static synchronized CudaAvailability cudaAvailability() {
        if (availability == null) {
            try {
                CudaDeviceInfo info = CudaBackend.probe(cudaDevice());
                availability = new CudaAvailability(true, info, "found " + info);
            } catch (CudaUnavailableException | UnsatisfiedLinkError e) {
                availability = new CudaAvailability(false, null, e.getMessage());
            }
        }
        return availability;
    }

    static String setting(String property, String env) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? null : v.trim();
    }

    /**
     * The storage dtype of CUDA results and weights: F16 by default (diffusers' fp16 pipelines; the
     * SDXL VAE still runs in F32, see {@link Backend#withComputeType}).
     */
    public static DType cudaDType() {
        String v = setting("jdiffusion.cuda.dtype", "JDIFFUSION_CUDA_DTYPE");
        if (v == null) return DType.F16;
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "f32", "float32", "fp32" -> DType.F32;
            case "f16", "float16", "fp16", "half" -> DType.F16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new IllegalArgumentException("jdiffusion.cuda.dtype is '" + v + "'; allowed: f32, f16, bf16");
        };
    }

    public static int cudaDevice() {
        String v = setting("jdiffusion.cuda.device", "JDIFFUSION_CUDA_DEVICE");
        if (v == null) return 0;
        try {
            int d = Integer.parseInt(v);
            if (d < 0) throw new NumberFormatException();
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("jdiffusion.cuda.device is '" + v + "'; allowed: a device ordinal 0, 1, ...");
        }
    }

    /** Device memory budget in bytes, 0 for none. */
    public static long cudaBudget() {
        String v = setting("jdiffusion.cuda.budget", "JDIFFUSION_CUDA_BUDGET");
        return v == null ? 0 : parseBytes(v, "jdiffusion.cuda.budget");
    }

    /** "123", "512k", "8m", "40g" (binary units) to bytes. */
    public static long parseBytes(String v, String what) {
        String s = v.trim().toLowerCase(Locale.ROOT);
        long mul = 1;
        if (s.endsWith("ib")) s = s.substring(0, s.length() - 2);
        else if (s.endsWith("b")) s = s.substring(0, s.length() - 1);
        if (s.endsWith("k")) mul = 1L << 10;
        else if (s.endsWith("m")) mul = 1L << 20;
        else if (s.endsWith("g")) mul = 1L << 30;
        if (mul != 1) s = s.substring(0, s.length() - 1);
        try {
            long n = Long.parseLong(s.trim());
            if (n < 0) throw new NumberFormatException();
            return Math.multiplyExact(n, mul);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(what + " is '" + v + "'; allowed: a byte count such as 8000000000, 512m or 40g");
        }
    }
}
