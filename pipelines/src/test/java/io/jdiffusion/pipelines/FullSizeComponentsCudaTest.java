package io.jdiffusion.pipelines;

import io.jdiffusion.pipelines.checkpoint.Layout;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.cuda.CudaBackend;
import io.jdiffusion.text.CLIPTextOutput;
import io.jdiffusion.vae.AutoencoderKL;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every official SDXL component, built from the bundled full-size configs with random weights
 * ({@link RandomSdxl}: the same numbers on every backend), runs on CUDA in F16, BF16 and F32 and
 * matches the CPU reference backend: the base, refiner and 9-channel inpainting UNets at 16×16
 * latents, the VAE's encoder and decoder at 64×64 and 64×96 pixels (its mid-block attention has one
 * head of 512 channels), CLIP ViT-L and OpenCLIP bigG. Spatially small, so it runs on the emulated
 * device in CI; every weight of every component is still used, so every full-size shape is run.
 * Skips where CUDA cannot run.
 *
 * <p>The CPU reference computes in F32 from the same stored weights (F16; BF16 for the BF16 rows,
 * whose weights {@link RandomSdxl} draws in BF16: so the BF16 error also holds the weight rounding).
 * Error: max |cuda − cpu| / max |cpu| over the output. Bounds (see {@link FullSizeCudaTest} for the
 * random-walk argument): F32 1e-3 (orders of summation only), F16 2e-2 (≈ 100 roundings of 2⁻¹¹),
 * BF16 1e-1 (the same with 2⁻⁸, plus the weights' own BF16 rounding against the F16 reference).
 *
 * <p>Which dtypes run: {@code -Djdiffusion.fullsize.dtypes=f16,bf16,f32} (the default: all three).
 * The UNets hold 2.3–2.6 G parameters, 4.5–5.1 GB in 16 bits and twice that in F32, so
 * {@code -Djdiffusion.fullsize.unetDtypes} (default {@code f16}, the CUDA default) chooses theirs
 * apart: on the emulated device a UNet pass costs minutes (≈ 90 GFLOP through the reference GEMM,
 * ≈ 1,500 kernel launches run thread by thread on fibers, 5 GB of weights drawn and copied), and an
 * F32 UNet needs 10 GB of emulated device memory, i.e. host memory, which CI's runners lack. The
 * BF16 and F32 kernels are the same sources instantiated per type: the op matrix checks each of
 * them, and the VAE and text encoders here run in all three types.
 */
class FullSizeComponentsCudaTest {
    static final long SEED = 21, INPUTS = 3;
    /** Latent side of the UNet runs and the context length (8 tokens: the K/V projections of 70 cross-attentions cost per token). */
    static final int LATENT = 16, TOKENS = 8;
    /** A prompt's worth of CLIP ids (bos … eos), shorter than 77 to keep the text encoders cheap on the emulator. */
    static final int[][] IDS = {{49406, 320, 1125, 539, 550, 1901, 267, 49407}};

    static final Map<String, float[]> REFERENCES = new ConcurrentHashMap<>();

    static List<DType> dtypes(String property, String defaults) {
        List<DType> out = new ArrayList<>();
        for (String s : System.getProperty(property, defaults).split(",")) {
            if (!s.isBlank()) out.add(DType.valueOf(s.trim().toUpperCase(Locale.ROOT)));
        }
        return out;
    }

    static List<DType> componentDtypes() { return dtypes("jdiffusion.fullsize.dtypes", "f16,bf16,f32"); }

    static List<DType> unetDtypes() {
        List<DType> all = componentDtypes();
        return dtypes("jdiffusion.fullsize.unetDtypes", "f16").stream().filter(all::contains).toList();
    }

    static double bound(DType d) {
        return switch (d) {
            case F32 -> 1e-3;
            case F16 -> 2e-2;
            default -> 1e-1;
        };
    }

    /** The weights' storage type for a CUDA run of {@code dtype}: what {@link RandomSdxl} draws (F16 widened for F32). */
    static DType stored(DType dtype) { return dtype == DType.BF16 ? DType.BF16 : DType.F16; }

    /**
     * Runs {@code run} on the CPU (once per component and stored dtype) and on CUDA in {@code dtype},
     * and checks the relative error against the bound.
     */
    static void compare(String component, DType dtype, Function<RunOn, float[]> run) {
        Backends.CudaAvailability cuda = Backends.cudaAvailability();
        assumeTrue(cuda.available(), "full-size CUDA check skipped: CUDA is not usable here (" + cuda.reason() + ")");
        DType w = stored(dtype);
        long t0 = System.nanoTime();
        float[] ref = REFERENCES.computeIfAbsent(component + "/" + w, k -> run.apply(new RunOn(CpuBackend.INSTANCE, w)));
        long t1 = System.nanoTime();
        try (CudaBackend be = CudaBackend.create(Backends.cudaDevice(), dtype, 0)) {
            float[] got = run.apply(new RunOn(be, dtype));
            assertEquals(ref.length, got.length, component + " output length");
            RandomSdxl.Error e = RandomSdxl.Error.of(ref, got);
            System.out.printf(Locale.ROOT, "full-size %s %s on %s: %s, bound %.1e; cpu %.1f s, cuda %.1f s; peak %.1f MiB%n",
                    component, dtype, be.info().name(), e, bound(dtype), (t1 - t0) / 1e9, (System.nanoTime() - t1) / 1e9,
                    be.memoryStats().peakInUse() / 1048576.0);
            assertTrue(e.relative() <= bound(dtype), component + " " + dtype + ": " + e + " over the bound " + bound(dtype));
        }
    }

    /** A backend and the dtype {@link RandomSdxl} loads weights as (F32: drawn as F16 and widened on upload). */
    record RunOn(Backend backend, DType weights) {}

    // ---- UNets ------------------------------------------------------------------------------

    static float[] unet(RunOn on, Layout layout) {
        return RandomSdxl.unetForward(on.backend(), layout, on.weights(), SEED, LATENT, TOKENS, INPUTS);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unetDtypes")
    void baseUnet16x16(DType dtype) { compare("base UNet", dtype, on -> unet(on, Layout.BASE)); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unetDtypes")
    void refinerUnet16x16(DType dtype) { compare("refiner UNet", dtype, on -> unet(on, Layout.REFINER)); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unetDtypes")
    void inpaintUnet16x16(DType dtype) { compare("inpaint UNet (9 channels)", dtype, on -> unet(on, Layout.INPAINT)); }

    // ---- VAE --------------------------------------------------------------------------------

    static float[] gauss(long seed, int n, float scale) {
        java.util.Random r = new java.util.Random(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian() * scale;
        return f;
    }

    static float[] vae(RunOn on, boolean encode, int height, int width) {
        Backend be = on.backend();
        AutoencoderKL vae = RandomSdxl.vae(Layout.BASE, be, on.weights(), SEED);
        try (Backend.Scope s = be.openScope()) {
            if (encode) {
                Tensor x = be.fromFloats(gauss(INPUTS, 3 * height * width, 0.5f), 1, 3, height, width);
                return vae.encodeMoments(x).toFloatArray();
            }
            int lh = height / 8, lw = width / 8;
            return vae.decode(be.fromFloats(gauss(INPUTS, 4 * lh * lw, 1f), 1, 4, lh, lw)).toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("componentDtypes")
    void vaeDecode64x64(DType dtype) { compare("VAE decode 64x64", dtype, on -> vae(on, false, 64, 64)); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("componentDtypes")
    void vaeDecode64x96(DType dtype) { compare("VAE decode 64x96", dtype, on -> vae(on, false, 64, 96)); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("componentDtypes")
    void vaeEncode64x64(DType dtype) { compare("VAE encode 64x64", dtype, on -> vae(on, true, 64, 64)); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("componentDtypes")
    void vaeEncode64x96(DType dtype) { compare("VAE encode 64x96", dtype, on -> vae(on, true, 64, 96)); }

    // ---- text encoders ----------------------------------------------------------------------

    static float[] flatten(Tensor... parts) {
        int n = 0;
        List<float[]> all = new ArrayList<>();
        for (Tensor t : parts) {
            float[] f = t.toFloatArray();
            all.add(f);
            n += f.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] f : all) {
            System.arraycopy(f, 0, out, at, f.length);
            at += f.length;
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("componentDtypes")
    void clipL(DType dtype) {
        compare("CLIP ViT-L", dtype, on -> {
            var te = RandomSdxl.clipL(Layout.BASE, on.backend(), on.weights(), SEED);
            CLIPTextOutput o = te.forward(IDS, true);
            // SDXL uses the penultimate hidden state; the pooled output checks the eos gather and final norm
            return flatten(o.hiddenState(-2), o.lastHiddenState(), o.pooledOutput());
        });
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("componentDtypes")
    void openClipBigG(DType dtype) {
        compare("OpenCLIP bigG", dtype, on -> {
            var te = RandomSdxl.bigG(Layout.BASE, on.backend(), on.weights(), SEED);
            CLIPTextOutput o = te.forward(IDS, true);
            return flatten(o.hiddenState(-2), o.textEmbeds());
        });
    }
}
