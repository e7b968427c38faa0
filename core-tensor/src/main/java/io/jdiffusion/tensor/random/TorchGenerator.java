package io.jdiffusion.tensor.random;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;

import java.util.Arrays;

/**
 * PyTorch's CPU random generator: {@code torch.Generator("cpu").manual_seed(seed)} followed by
 * {@code torch.randn(shape, generator=g)} calls gives the same float32 numbers here (see spec §8).
 *
 * <ul>
 *   <li>Engine: MT19937 seeded with {@code seed mod 2^32}.</li>
 *   <li>{@link #randn} with n &ge; 16 elements (every latent): n uniforms {@code (w & 0xFFFFFF) / 2^24},
 *       Box-Muller on blocks of 16 (element j pairs with j + 8), computed like torch's vectorised
 *       kernel (float32, Cephes polynomials via {@link CephesFloat}); when n is not a multiple of 16,
 *       16 fresh uniforms are drawn and transformed over the last 16 positions.</li>
 *   <li>n &lt; 16: one double-precision Box-Muller per value with a cached spare, like
 *       {@code at::normal_distribution<double>}.</li>
 * </ul>
 * The state carries over between calls exactly like torch's generator. Not thread-safe.
 */
public final class TorchGenerator {
    /** float32(2 pi): torch builds the SIMD constant as {@code _mm256_set1_ps(2.0f * pi<double>)}. */
    private static final float TWO_PI_F = (float) (2.0 * Math.PI);

    private final Mt19937 engine;
    private long seed;
    /** The cached second value of the double Box-Muller (torch's next_double_normal_sample), or NaN. */
    private double spareNormal = Double.NaN;

    /** A generator seeded like {@code torch.Generator("cpu").manual_seed(seed)}. */
    public TorchGenerator(long seed) {
        this.engine = new Mt19937(seed);
        this.seed = seed;
    }

    /** {@code manual_seed}: restarts the stream and drops the cached normal. */
    public TorchGenerator manualSeed(long seed) {
        engine.seed(seed);
        this.seed = seed;
        spareNormal = Double.NaN;
        return this;
    }

    public long initialSeed() { return seed; }

    /** An independent generator in the same state (for drawing the same numbers twice). */
    public TorchGenerator copy() {
        TorchGenerator g = new TorchGenerator(this, engine.copy());
        g.spareNormal = spareNormal;
        return g;
    }

    private TorchGenerator(TorchGenerator from, Mt19937 engine) {
        this.engine = engine;
        this.seed = from.seed;
    }

    /** One raw 32-bit word ({@code torch's random()}), unsigned in a long. */
    public long nextUInt32() { return engine.nextInt() & 0xFFFFFFFFL; }

    /** {@code torch.randn(shape, generator=this)} as float32 values in C order. */
    public float[] randn(int... shape) {
        float[] out = new float[checkedSize(shape)];
        fill(out);
        return out;
    }

    /** {@link #randn} as a CPU F32 tensor. */
    public Tensor randnTensor(int... shape) {
        return Tensor.of(randn(shape), shape);
    }

    /** Fills {@code out} as {@code torch.randn(out.length)} would (C order of any shape of that size). */
    public void fill(float[] out) {
        int n = out.length;
        if (n < 16) {
            for (int i = 0; i < n; i++) out[i] = (float) nextDoubleNormal();
            return;
        }
        for (int i = 0; i < n; i++) out[i] = uniformFloat();
        float[] sc = new float[2];
        for (int b = 0; b + 16 <= n; b += 16) boxMuller16(out, b, sc);
        if (n % 16 != 0) {
            int b = n - 16;
            for (int i = 0; i < 16; i++) out[b + i] = uniformFloat();
            boxMuller16(out, b, sc);
        }
    }

    /**
     * {@code torch.randn(shape, generator=this, dtype=dtype)} on the CPU, each value returned as a
     * float (for F16/BF16 every value is exactly representable in that dtype).
     *
     * <p>F32 is {@link #randn(int...)}. F16/BF16 with n &ge; 16 follow torch's generic
     * {@code normal_fill} on {@code c10::Half}/{@code c10::BFloat16} (spec §8.4): uniforms from the
     * low 11 (F16) or 8 (BF16) bits of each word, the same 16-blocks and tail rule, and every step
     * rounded back to the reduced type as c10's arithmetic does: log, -2·, sqrt, θ (double → float →
     * reduced), cos/sin and the product. <b>That rounding sequence is the spec's best reading of the
     * torch sources and has not been checked against torch output</b> (no fixture holds reduced
     * randn); it is not {@code round(randn_f32)}. n &lt; 16 takes the double path and rounds its
     * result, like torch.
     */
    public float[] randn(io.jdiffusion.tensor.DType dtype, int... shape) {
        if (dtype == DType.F32) return randn(shape);
        float[] out = new float[checkedSize(shape)];
        boolean half = dtype == DType.F16;
        int n = out.length;
        if (n < 16) {
            for (int i = 0; i < n; i++) out[i] = reduce(half, (float) nextDoubleNormal());
            return out;
        }
        int mask = half ? 0x7FF : 0xFF;
        float scale = half ? 0x1p-11f : 0x1p-8f;
        for (int i = 0; i < n; i++) out[i] = (engine.nextInt() & mask) * scale;
        for (int b = 0; b + 16 <= n; b += 16) boxMuller16Reduced(out, b, half);
        if (n % 16 != 0) {
            int b = n - 16;
            for (int i = 0; i < 16; i++) out[b + i] = (engine.nextInt() & mask) * scale;
            boxMuller16Reduced(out, b, half);
        }
        return out;
    }

    /** torch's scalar {@code normal_fill_16} on a reduced type: each c10 operation rounds to that type. */
    private static void boxMuller16Reduced(float[] d, int b, boolean half) {
        for (int j = 0; j < 8; j++) {
            float u1 = reduce(half, 1f - d[b + j]);
            float u2 = d[b + 8 + j];
            float lg = reduce(half, (float) Math.log(u1));
            float radius = reduce(half, (float) Math.sqrt(reduce(half, -2f * lg)));
            float theta = reduce(half, (float) (2.0 * Math.PI * u2));
            float c = reduce(half, (float) Math.cos(theta));
            float s = reduce(half, (float) Math.sin(theta));
            d[b + j] = reduce(half, radius * c);
            d[b + 8 + j] = reduce(half, radius * s);
        }
    }

    private static float reduce(boolean half, float v) {
        return half ? Float.float16ToFloat(Float.floatToFloat16(v))
                : DType.bf16ToF32(DType.f32ToBf16(v));
    }

    /** {@code uniform_real_distribution<float>(0, 1)}: the low 24 bits of one word, times 2^-24. */
    private float uniformFloat() {
        return (engine.nextInt() & 0xFFFFFF) * 0x1p-24f;
    }

    /** {@code uniform_real_distribution<double>(0, 1)}: the low 53 bits of random64(), times 2^-53. */
    private double uniformDouble() {
        return (engine.nextLong() & ((1L << 53) - 1)) * 0x1p-53;
    }

    /** The vectorised kernel's transform of 16 uniforms in place: pairs (j, j + 8). */
    private static void boxMuller16(float[] d, int b, float[] sc) {
        for (int j = 0; j < 8; j++) {
            float u1 = 1f - d[b + j];            // [0, 1) -> (0, 1] for the log
            float u2 = d[b + 8 + j];
            float radius = (float) Math.sqrt(-2f * CephesFloat.log(u1)); // sqrt of a float is exact-rounded either way
            float theta = TWO_PI_F * u2;
            CephesFloat.sincos(theta, sc);
            d[b + j] = radius * sc[1];
            d[b + 8 + j] = radius * sc[0];
        }
    }

    /** {@code at::normal_distribution<double>(0, 1)} with the generator's cached spare value. */
    private double nextDoubleNormal() {
        if (!Double.isNaN(spareNormal)) {
            double v = spareNormal;
            spareNormal = Double.NaN;
            return v;
        }
        double u1 = uniformDouble();
        double u2 = uniformDouble();
        double r = Math.sqrt(-2.0 * Math.log1p(-u2));
        double theta = 2.0 * Math.PI * u1;
        spareNormal = r * Math.sin(theta);
        return r * Math.cos(theta);
    }

    private static int checkedSize(int[] shape) {
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("randn shape " + Arrays.toString(shape) + " has a negative dimension");
        }
        long n = Shapes.numel(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("randn shape " + Arrays.toString(shape) + " has " + n + " elements; at most 2^31 - 9");
        }
        return (int) n;
    }
}
