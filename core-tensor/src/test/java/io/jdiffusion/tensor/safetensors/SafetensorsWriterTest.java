package io.jdiffusion.tensor.safetensors;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsWriterTest {
    @TempDir
    Path dir;

    private static float[] randomFloats(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(9) - 4));
        v[0] = -0f;
        if (n > 3) { v[1] = Float.MIN_VALUE; v[2] = 65504f; v[3] = 1e-8f; }
        return v;
    }

    /** Every dtype written, read back bit for bit; header padded with spaces to 8 bytes; reference layout order. */
    @Test
    void roundTripEveryDtype() throws IOException {
        Random r = new Random(7);
        float[] f32 = randomFloats(r, 6 * 5);
        float[] f16src = randomFloats(r, 17);
        float[] bf16src = randomFloats(r, 9);
        double[] f64 = {Math.PI, -0.0, Double.MAX_VALUE, Double.MIN_VALUE};
        long[] i64 = {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE};
        int[] i32 = {Integer.MIN_VALUE, -7, 123456789};
        short[] i16 = {Short.MIN_VALUE, -2, Short.MAX_VALUE, 0};
        byte[] i8 = {-128, -1, 0, 127};
        byte[] u8 = {0, 1, (byte) 200, (byte) 255};
        boolean[] bool = {true, false, true};
        byte[] u16 = {1, 2, 3, 4};
        byte[] e4m3 = {0x38, (byte) 0xB8, 0x7E, 0x01}; // 1, -1, 448, 2^-9
        Tensor bf16Tensor = Tensor.of(bf16src, 3, 3);

        Path p = dir.resolve("all.safetensors");
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt").metadata("ünï", "cödé \"quoted\"")
                .addF32("z.f32", f32, 6, 5)
                .add("f16", DType.F16, f16src, 17)
                .add("bf16", bf16Tensor, DType.BF16)
                .addF64("f64", f64, 2, 2)
                .addI64("i64", i64, 4)
                .addI32("i32", i32, 3)
                .addI16("i16", i16, 2, 2)
                .addI8("i8", i8, 4)
                .addU8("u8", u8, 4)
                .addBool("bool", bool, 3)
                .addRaw("u16", StDType.U16, u16, 2)
                .addRaw("e4m3", StDType.F8_E4M3, e4m3, 4)
                .addF32("scalar", new float[] {42f})
                .addF32("empty", new float[0], 0, 3)
                .add("tensor.f16", Tensor.of(f16src, 17), DType.F16);
        w.write(p);

        byte[] raw = Files.readAllBytes(p);
        long headerLen = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, (8 + headerLen) % 8, "data area starts 8-byte aligned");
        String header = new String(raw, 8, (int) headerLen, StandardCharsets.UTF_8);
        assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\""), header);
        assertTrue(header.stripTrailing().endsWith("}") && header.substring(header.stripTrailing().length()).isBlank(), header);

        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(Map.of("format", "pt", "ünï", "cödé \"quoted\""), f.metadata());
            // layout: item size 8 first, then 4, 2, 1; by name within a size
            assertEquals(List.of("f64", "i64", "empty", "i32", "scalar", "z.f32", "bf16", "f16", "i16", "tensor.f16", "u16",
                    "bool", "e4m3", "i8", "u8"), f.names());
            long prevEnd = 0;
            for (String n : f.names()) {
                TensorInfo t = f.info(n);
                assertEquals(prevEnd, t.begin(), n + " follows the previous tensor without a gap");
                assertEquals(0, t.begin() % t.dtype().itemSize(), n + " is aligned to its item size");
                prevEnd = t.end();
            }
            assertEquals(raw.length - 8 - headerLen, prevEnd);

            assertArrayEquals(new int[] {6, 5}, f.info("z.f32").shape());
            assertArrayEquals(f32, f.floats("z.f32"));
            assertArrayEquals(f32, f.tensor("z.f32").toFloatArray());
            short[] f16bits = shorts(f, "f16");
            for (int i = 0; i < f16src.length; i++) assertEquals(Float.floatToFloat16(f16src[i]), f16bits[i], "f16[" + i + "]");
            assertArrayEquals(f16bits, shorts(f, "tensor.f16"));
            assertEquals(DType.F16, f.tensor("f16").dtype());
            short[] bf16bits = shorts(f, "bf16");
            for (int i = 0; i < bf16src.length; i++) assertEquals(bf16Reference(bf16src[i]), bf16bits[i], "bf16[" + i + "]");
            assertArrayEquals(new int[] {3, 3}, f.info("bf16").shape());

            ByteBuffer b = f.bytes("f64").asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (double d : f64) assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits(b.getDouble()));
            b = f.bytes("i64").asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (long v : i64) assertEquals(v, b.getLong());
            b = f.bytes("i32").asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int v : i32) assertEquals(v, b.getInt());
            assertArrayEquals(new float[] {-32768, -2, 32767, 0}, f.floats("i16"));
            assertArrayEquals(new float[] {-128, -1, 0, 127}, f.floats("i8"));
            assertArrayEquals(new float[] {0, 1, 200, 255}, f.floats("u8"));
            assertArrayEquals(new float[] {1, 0, 1}, f.floats("bool"));
            assertArrayEquals(new float[] {0x0201, 0x0403}, f.floats("u16"));
            assertArrayEquals(new float[] {1, -1, 448, 0x1p-9f}, f.floats("e4m3"));
            assertArrayEquals(new float[] {42f}, f.floats("scalar"));
            assertEquals(0, f.info("scalar").rank());
            assertArrayEquals(new int[] {0, 3}, f.info("empty").shape());
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(p), s.toList(), "no temporary file left behind");
        }
    }

    /** Writing over an existing file replaces it; a failed write leaves the target and folder untouched. */
    @Test
    void atomicReplaceAndFailure() throws IOException {
        Path p = dir.resolve("m.safetensors");
        new SafetensorsWriter().addF32("a", new float[] {1, 2}, 2).write(p);
        new SafetensorsWriter().addF32("b", new float[] {3}, 1).write(p);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("b"), f.names());
        }
        // the target is a non-empty folder: the move fails, the temp file is removed
        Path blocked = dir.resolve("blocked.safetensors");
        Files.createDirectories(blocked.resolve("inside"));
        var e = assertThrows(SafetensorsException.class, () -> new SafetensorsWriter().addF32("a", new float[] {1}, 1).write(blocked));
        assertTrue(e.getMessage().contains("cannot be written"), e.getMessage());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(2, s.count(), "only m.safetensors and the blocked folder remain");
        }
    }

    @Test
    void badArgumentsAreRefused() {
        SafetensorsWriter w = new SafetensorsWriter().addF32("a", new float[] {1}, 1);
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.addF32("a", new float[] {1}, 1)), "'a' added twice");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.addF32("__metadata__", new float[] {1}, 1)), "reserved");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.addF32("b", new float[] {1, 2}, 3)), "holds 3 elements, data has 2");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.addF32("c", new float[0], -1)), "negative dimension");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.addRaw("d", StDType.I32, new byte[3], 1)), "needs 4 bytes, got 3");
        assertMessage(assertThrows(IllegalArgumentException.class, () -> w.metadata("k", null)), "must not be null");
    }

    /** Chunked conversion of a tensor larger than one write chunk, from a mapped F16 source to BF16 and F32. */
    @Test
    void largeTensorsAreConvertedInChunks() throws IOException {
        int n = 200_003;
        float[] v = new float[n];
        Random r = new Random(3);
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        Path a = dir.resolve("a.safetensors");
        new SafetensorsWriter().add("x", DType.F16, v, n).write(a);
        try (SafetensorsFile fa = SafetensorsFile.open(a)) {
            Tensor mapped = fa.tensor("x");
            Path b = dir.resolve("b.safetensors");
            new SafetensorsWriter().add("x", mapped).add("y", mapped, DType.F32).add("z", mapped.slice(5, 10), DType.BF16).write(b);
            try (SafetensorsFile fb = SafetensorsFile.open(b)) {
                assertArrayEquals(shorts(fa, "x"), shorts(fb, "x"));
                float[] widened = mapped.toFloatArray();
                assertArrayEquals(widened, fb.floats("y"));
                short[] z = shorts(fb, "z");
                for (int i = 0; i < 5; i++) assertEquals(bf16Reference(widened[5 + i]), z[i]);
            }
        }
    }

    private static void assertMessage(Exception e, String fragment) {
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' lacks '" + fragment + "'");
    }

    static short[] shorts(SafetensorsFile f, String name) {
        return f.bytes(name).toArray(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
    }

    /** bfloat16 rounding to nearest even computed independently, through double arithmetic. */
    static short bf16Reference(float v) {
        if (Float.isNaN(v)) return (short) 0x7fc0;
        int bits = Float.floatToRawIntBits(v);
        float lo = Float.intBitsToFloat(bits & 0xffff0000);           // truncated toward zero
        float hi = Float.intBitsToFloat((bits & 0xffff0000) + 0x10000); // next bf16 away from zero
        double dLo = Math.abs((double) v - lo), dHi = Math.abs((double) hi - v);
        boolean up = dHi < dLo || (dHi == dLo && ((bits >>> 16) & 1) == 1);
        return (short) ((up ? (bits & 0xffff0000) + 0x10000 : bits & 0xffff0000) >>> 16);
    }
}
