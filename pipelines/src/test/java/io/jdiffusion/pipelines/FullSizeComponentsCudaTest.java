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
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Stream;

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
 * <p>One CPU reference per component, shared by the three CUDA runs: F32 compute from weights drawn
 * in F16. Each CUDA run loads the same F16 draws the way it loads a checkpoint, converted once to its
 * compute dtype (F32: widened exactly; BF16: rounded to 8 bits, so the BF16 error also holds the
 * weights' rounding). Error: max |cuda − cpu| / max |cpu| over the output. Bounds (see
 * {@link FullSizeCudaTest} for the random-walk argument): F32 1e-3 (orders of summation only), F16
 * 2e-2 (≈ 100 roundings of 2⁻¹¹), BF16 1e-1 (the same with 2⁻⁸ ≈ 3.9e-3: √100 · 3.9e-3 ≈ 4e-2 for the
 * activations plus the weights' own rounding, which a layer passes on at about the same size).
 *
 * <p>Which dtypes run: {@code -Djdiffusion.fullsize.dtypes=f16,bf16,f32} (the default: all three), and
 * {@code -Djdiffusion.fullsize.unetDtypes} for the UNets (default: the same). The UNets hold
 * 2.3–2.6 G parameters: 4.5–5.1 GB on a 16-bit device, twice that in F32, and on the emulated device
 * that memory is host memory; each case closes its backend, so one UNet's weights are held at a time
 * (the CPU reference reads its weights lazily and holds none).
 *
 * <p>Which cases run: {@code -Djdiffusion.fullsize.matrix=all} (the default: every component in every
 * chosen dtype) or {@code ci}, the matrix of CI's emulated step ({@code scripts/check-cuda-sources.sh
 * --emulate}; {@code JDIFFUSION_EMULATE_FULL_SIZE=all} there runs all): it leaves out the cases that
 * take no code path another case does not, each printed with its reason and reported as skipped
 * ({@link #ciLeavesOut}; the argument is in docs/cuda.md).
 */
class FullSizeComponentsCudaTest {
    static final long SEED = 21, INPUTS = 3;
    /** Latent side of the UNet runs and the context length (8 tokens: the K/V projections of 70 cross-attentions cost per token). */
    static final int LATENT = 16, TOKENS = 8;
    /** A prompt's worth of CLIP ids (bos … eos), shorter than 77 to keep the text encoders cheap on the emulator. */
    static final int[][] IDS = {{49406, 320, 1125, 539, 550, 1901, 267, 49407}};

    /** CPU references by component, each computed once and dropped after the component's last dtype. */
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
        return dtypes("jdiffusion.fullsize.unetDtypes", "f16,bf16,f32").stream().filter(all::contains).toList();
    }

    /** The matrix chosen by {@code jdiffusion.fullsize.matrix}: true for {@code ci}, false for {@code all}. */
    static boolean ciMatrix() {
        String m = System.getProperty("jdiffusion.fullsize.matrix", "all");
        return switch (m) {
            case "all" -> false;
            case "ci" -> true;
            default -> throw new IllegalArgumentException("jdiffusion.fullsize.matrix must be all or ci, not '" + m + "'");
        };
    }

    /**
     * Why CI's matrix leaves this case out (null: it runs). BF16 is a storage type of the same
     * templated kernels as F16 (only the mma variant and the rounding differ), run by the base UNet and
     * the VAE at 64x64; F32 takes other paths than F16 (im2col + cuBLAS convolution, unfused attention)
     * for every model alike, run by the base UNet; the refiner's and the inpainting UNet's own shapes
     * (1536 channels, 4 levels, 9 input channels) take the same shape decisions in every dtype, run in F16.
     */
    static String ciLeavesOut(String component, DType dtype) {
        if (!ciMatrix()) return null;
        boolean otherUnet = component.equals("refiner") || component.equals("inpaint");
        if (otherUnet && dtype == DType.BF16) return "BF16 runs F16's kernels: the base UNet runs them in BF16, this UNet's shapes run in F16";
        if (otherUnet && dtype == DType.F32) return "F32's paths are the same for every UNet: the base UNet runs them, this UNet's shapes run in F16";
        if (component.endsWith("64x96") && dtype == DType.BF16) return "BF16 runs F16's kernels: 64x64 runs them in BF16, 64x96 in F16";
        return null;
    }

    /**
     * One case per (component, dtype), a component's dtypes in a row so its reference is computed once;
     * each with its last running dtype (which drops the reference) and why CI's matrix leaves it out (or null).
     */
    static Stream<Arguments> cases(List<String> components, List<DType> dtypes) {
        return components.stream().flatMap(c -> {
            List<DType> running = dtypes.stream().filter(d -> ciLeavesOut(c, d) == null).toList();
            return dtypes.stream().map(d -> Arguments.of(c, d, !running.isEmpty() && d == running.getLast(), ciLeavesOut(c, d)));
        });
    }

    static double bound(DType d) {
        return switch (d) {
            case F32 -> 1e-3;
            case F16 -> 2e-2;
            default -> 1e-1;
        };
    }

    /** The weights as served to a CUDA run of {@code dtype}: the F16 draws (for F32, widened on the host: the upload is a copy). */
    static DType served(DType dtype) { return dtype == DType.F32 ? DType.F32 : DType.F16; }

    /** CPU time of this process so far, in seconds (the emulator's wall time depends on what else the machine runs). */
    static double cpuSeconds() {
        return ProcessHandle.current().info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
    }

    /**
     * Runs {@code run} on the CPU (once per component) and on CUDA in {@code dtype}, and checks the
     * relative error against the bound; {@code last}: the component's last dtype, its reference is dropped;
     * {@code leftOut}: why CI's matrix leaves the case out (printed, and the case skipped), or null.
     */
    static void compare(String component, DType dtype, boolean last, String leftOut, Function<RunOn, float[]> run) {
        if (leftOut != null) {
            System.out.printf(Locale.ROOT, "full-size %s %s skipped by the CI matrix: %s (-Djdiffusion.fullsize.matrix=all runs it)%n",
                    component, dtype, leftOut);
            assumeTrue(false, "left out of the CI matrix: " + leftOut);
        }
        Backends.CudaAvailability cuda = Backends.cudaAvailability();
        assumeTrue(cuda.available(), "full-size CUDA check skipped: CUDA is not usable here (" + cuda.reason() + ")");
        long t0 = System.nanoTime();
        double c0 = cpuSeconds();
        float[] ref = last ? REFERENCES.remove(component) : REFERENCES.get(component);
        if (ref == null) ref = run.apply(new RunOn(CpuBackend.INSTANCE, DType.F16));
        if (!last) REFERENCES.put(component, ref);
        long t1 = System.nanoTime();
        double c1 = cpuSeconds();
        try (CudaBackend be = CudaBackend.create(Backends.cudaDevice(), dtype, 0)) {
            float[] got = run.apply(new RunOn(be, served(dtype)));
            assertEquals(ref.length, got.length, component + " output length");
            RandomSdxl.Error e = RandomSdxl.Error.of(ref, got);
            System.out.printf(Locale.ROOT, "full-size %s %s on %s: %s, bound %.1e; cpu %.1f s (%.1f s cpu time), cuda %.1f s (%.1f s cpu time); peak %.1f MiB%n",
                    component, dtype, be.info().name(), e, bound(dtype), (t1 - t0) / 1e9, c1 - c0, (System.nanoTime() - t1) / 1e9,
                    cpuSeconds() - c1, be.memoryStats().peakInUse() / 1048576.0);
            assertTrue(e.relative() <= bound(dtype), component + " " + dtype + ": " + e + " over the bound " + bound(dtype));
        }
    }

    /** A backend and the dtype {@link RandomSdxl} serves the draws as (a device converts them to its compute dtype at load). */
    record RunOn(Backend backend, DType weights) {}

    // ---- UNets ------------------------------------------------------------------------------

    /** {@code -Djdiffusion.fullsize.unets=base,refiner,inpaint} (the default) chooses the UNets. */
    static Stream<Arguments> unets() {
        return cases(List.of(System.getProperty("jdiffusion.fullsize.unets", "base,refiner,inpaint").split(",")), unetDtypes());
    }

    static Layout layout(String unet) {
        return switch (unet) {
            case "base" -> Layout.BASE;
            case "refiner" -> Layout.REFINER;
            default -> Layout.INPAINT;
        };
    }

    @ParameterizedTest(name = "{0} UNet 16x16 {1}")
    @MethodSource("unets")
    void unet16x16(String unet, DType dtype, boolean last, String leftOut) {
        compare(unet + " UNet", dtype, last, leftOut, on -> RandomSdxl.unetForward(on.backend(), layout(unet), on.weights(), SEED, LATENT, TOKENS, INPUTS));
    }

    // ---- VAE --------------------------------------------------------------------------------

    static float[] gauss(long seed, int n, float scale) {
        java.util.Random r = new java.util.Random(seed);
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) r.nextGaussian() * scale;
        return f;
    }

    static Stream<Arguments> vaes() {
        return cases(List.of("decode 64x64", "decode 64x96", "encode 64x64", "encode 64x96"), componentDtypes());
    }

    /** A VAE case named "decode|encode HxW" (pixels): the encoder's moments, or the decoder's image from latents of H/8 × W/8. */
    @ParameterizedTest(name = "VAE {0} {1}")
    @MethodSource("vaes")
    void vae(String what, DType dtype, boolean last, String leftOut) {
        boolean encode = what.startsWith("encode");
        String[] hw = what.substring(7).split("x");
        int height = Integer.parseInt(hw[0]), width = Integer.parseInt(hw[1]);
        compare("VAE " + what, dtype, last, leftOut, on -> {
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
        });
    }

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

    static Stream<Arguments> textEncoders() { return cases(List.of("CLIP ViT-L", "OpenCLIP bigG"), componentDtypes()); }

    /**
     * SDXL uses the penultimate hidden state of both; CLIP ViT-L's last hidden state and pooled output
     * check the final norm and the eos gather, bigG's text embeds its projection.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("textEncoders")
    void textEncoder(String encoder, DType dtype, boolean last, String leftOut) {
        compare(encoder, dtype, last, leftOut, on -> {
            if (encoder.startsWith("CLIP")) {
                CLIPTextOutput o = RandomSdxl.clipL(Layout.BASE, on.backend(), on.weights(), SEED).forward(IDS, true);
                return flatten(o.hiddenState(-2), o.lastHiddenState(), o.pooledOutput());
            }
            CLIPTextOutput o = RandomSdxl.bigG(Layout.BASE, on.backend(), on.weights(), SEED).forward(IDS, true);
            return flatten(o.hiddenState(-2), o.textEmbeds());
        });
    }
}
