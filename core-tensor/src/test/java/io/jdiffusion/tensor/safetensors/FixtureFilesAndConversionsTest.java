package io.jdiffusion.tensor.safetensors;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every weight file of the fixture set opens and its F16/BF16 values decode exactly; the f16 and
 * bf16 conversions are checked over all 65536 bit patterns and at every rounding boundary against
 * independent computations (bit fields evaluated in double; nearest-even decided by distances).
 */
class FixtureFilesAndConversionsTest {

    /** binary16 bits to a double from the bit fields (the independent decoder). */
    static double f16Value(int h) {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
        double mag = exp == 0 ? mant * 0x1p-24 : exp == 31 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : (1024 + mant) * Math.pow(2, exp - 25);
        return sign == 1 ? -mag : mag;
    }

    /** bfloat16 bits to a double from the bit fields. */
    static double bf16Value(int h) {
        int sign = (h >> 15) & 1, exp = (h >> 7) & 0xff, mant = h & 0x7f;
        double mag = exp == 0 ? mant * Math.pow(2, -133) : exp == 255 ? (mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
                : (128 + mant) * Math.pow(2, exp - 134);
        return sign == 1 ? -mag : mag;
    }

    private static final double[] F16_TABLE = new double[65536], BF16_TABLE = new double[65536];
    static {
        for (int h = 0; h < 65536; h++) {
            F16_TABLE[h] = f16Value(h);
            BF16_TABLE[h] = bf16Value(h);
        }
    }

    @Test
    void everyFixtureWeightFileOpensAndDecodesExactly() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(Fixtures.root())) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no .safetensors under " + Fixtures.root());
        long f16 = 0, bf16 = 0, f32 = 0;
        for (Path p : files) {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                assertFalse(f.names().isEmpty(), p + " has tensors");
                for (String n : f.names()) {
                    TensorInfo t = f.info(n);
                    float[] got = f.floats(n);
                    assertEquals(t.numel(), got.length, p + " " + n);
                    switch (t.dtype()) {
                        case F16, BF16 -> {
                            short[] bits = f.bytes(n).toArray(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                            float[] viaTensor = f.tensor(n).toFloatArray();
                            boolean half = t.dtype() == StDType.F16;
                            for (int i = 0; i < bits.length; i++) {
                                double want = (half ? F16_TABLE : BF16_TABLE)[bits[i] & 0xffff];
                                boolean ok = Double.isNaN(want) ? Float.isNaN(got[i])
                                        : Double.doubleToRawLongBits(want) == Double.doubleToRawLongBits(got[i])
                                        && Float.floatToRawIntBits(got[i]) == Float.floatToRawIntBits(viaTensor[i])
                                        && bits[i] == (half ? DType.f32ToF16(got[i]) : DType.f32ToBf16(got[i]));
                                // messages are built only on failure: millions of values are checked
                                if (!ok) fail(p + " " + n + "[" + i + "]: bits " + Integer.toHexString(bits[i] & 0xffff) + " decode to "
                                        + want + ", reader gave " + got[i] + " / " + viaTensor[i]);
                            }
                            if (half) f16 += bits.length; else bf16 += bits.length;
                        }
                        case F32 -> {
                            float[] raw = f.bytes(n).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
                            for (int i = 0; i < raw.length; i++) {
                                if (Float.floatToRawIntBits(raw[i]) != Float.floatToRawIntBits(got[i])) {
                                    fail(p + " " + n + "[" + i + "]: " + raw[i] + " read as " + got[i]);
                                }
                            }
                            f32 += raw.length;
                        }
                        default -> { }
                    }
                }
            }
        }
        System.out.printf("fixture weights: %d files, %d F16, %d BF16, %d F32 values decoded exactly%n", files.size(), f16, bf16, f32);
        assertTrue(f16 > 0 && bf16 > 0, "the fixture set stores F16 and BF16 weights");
    }

    /** A 16-bit format's decoding and encoding (the conversions under test). */
    private interface Decode { float of(short h); }

    private interface Encode { short of(float f); }

    @Test
    void f16AllBitPatterns() {
        assertAllBitPatterns("f16", FixtureFilesAndConversionsTest::f16Value, DType::f16ToF32, DType::f32ToF16, (h, nan) ->
                assertTrue(Float.isNaN(Float.float16ToFloat(DType.f32ToF16(nan))), "NaN stays NaN"));
    }

    @Test
    void bf16AllBitPatterns() {
        assertAllBitPatterns("bf16", FixtureFilesAndConversionsTest::bf16Value, DType::bf16ToF32, DType::f32ToBf16, (h, nan) -> {
            short back = DType.f32ToBf16(nan);
            assertTrue(Double.isNaN(bf16Value(back & 0xffff)), "NaN stays NaN: " + Integer.toHexString(h));
            assertTrue((back & 0x40) != 0, "NaN comes back quiet");
        });
    }

    /**
     * Every bit pattern decodes to the value its definition gives ({@code value}) and encodes back to
     * itself; NaNs decode to NaN and are checked by {@code nanBack}.
     */
    private static void assertAllBitPatterns(String name, java.util.function.IntToDoubleFunction value, Decode decode, Encode encode,
                                             java.util.function.BiConsumer<Integer, Float> nanBack) {
        for (int h = 0; h < 65536; h++) {
            double want = value.applyAsDouble(h);
            float got = decode.of((short) h);
            if (Double.isNaN(want)) {
                assertTrue(Float.isNaN(got), name + " " + Integer.toHexString(h));
                nanBack.accept(h, got);
                continue;
            }
            assertEquals(Double.doubleToRawLongBits(want), Double.doubleToRawLongBits(got), name + " " + Integer.toHexString(h));
            assertEquals((short) h, encode.of(got), name + " -> f32 -> " + name + " of " + Integer.toHexString(h));
        }
    }

    /** f32 -> f16 rounding at every boundary: midpoints go to the even neighbour, one f32 ulp off goes to the nearer. */
    @Test
    void f16RoundingAtEveryMidpoint() {
        for (int h = 0; h < 0x7c00; h++) {          // each finite non-negative f16 and the next one up (0x7c00 = inf)
            double a = f16Value(h), b = f16Value(h + 1);
            double mid = h + 1 == 0x7c00 ? 65520.0 : (a + b) / 2; // overflow threshold: 65504 + half an ulp
            float m = (float) mid;
            assertEquals(mid, m, 0, "midpoint is an f32");
            assertRoundsAround(h, m, DType::f32ToF16, String.valueOf(mid));
        }
    }

    @Test
    void bf16RoundingAtEveryMidpoint() {
        for (int h = 0; h < 0x7f80; h++) {          // each finite non-negative bf16 and the next one up (0x7f80 = inf)
            float a = DType.bf16ToF32((short) h);
            float m = Float.intBitsToFloat((Float.floatToRawIntBits(a)) + 0x8000); // half a bf16 ulp above a
            double next = h + 1 == 0x7f80 ? 2 * bf16Value(h) - bf16Value(h - 1) : bf16Value(h + 1); // past the max: one more ulp
            assertEquals((bf16Value(h) + next) / 2, m, 0, "midpoint");
            assertRoundsAround(h, m, DType::f32ToBf16, String.valueOf(m));
        }
    }

    /** At the midpoint {@code m} between h and h + 1 (either sign): a tie goes to the even one, one ulp above to h + 1, below to h. */
    private static void assertRoundsAround(int h, float m, Encode encode, String mid) {
        for (int sign : new int[] {0, 0x8000}) {
            float s = sign == 0 ? 1f : -1f;
            short even = (short) ((((h & 1) == 0) ? h : h + 1) | sign);
            assertEquals(even, encode.of(s * m), "tie at " + mid);
            assertEquals((short) ((h + 1) | sign), encode.of(s * Math.nextUp(m)), "above " + mid);
            assertEquals((short) (h | sign), encode.of(s * Math.nextDown(m)), "below " + mid);
        }
    }
}
