package io.jdiffusion.unet;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.safetensors.TensorInfo;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes small safetensors files for tests (doctored or re-typed copies of fixture weights). */
final class SafetensorsTestFiles {
    private SafetensorsTestFiles() {}

    /** A tensor entry: safetensors dtype name, shape, little-endian bytes. */
    record Entry(String dtype, int[] shape, byte[] data) {}

    /** Every entry of {@code file} with its raw bytes, in header order. */
    static Map<String, Entry> read(Path file) {
        Map<String, Entry> out = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String n : f.names()) {
                TensorInfo i = f.info(n);
                out.put(n, new Entry(i.dtype().name(), i.shape(), f.bytes(n).toArray(ValueLayout.JAVA_BYTE)));
            }
        }
        return out;
    }

    /** Every entry converted to {@code dtype} (F32, F16 or BF16; round-to-nearest-even), in the same order. */
    static Map<String, Entry> convertAll(Map<String, Entry> entries, DType dtype) {
        Map<String, Entry> out = new LinkedHashMap<>();
        entries.forEach((name, e) -> {
            float[] v = decode(e);
            ByteBuffer b = ByteBuffer.allocate(v.length * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            if (dtype == DType.F32) {
                b.asFloatBuffer().put(v);
            } else {
                short[] s = new short[v.length];
                for (int i = 0; i < v.length; i++) s[i] = dtype == DType.F16 ? DType.f32ToF16(v[i]) : DType.f32ToBf16(v[i]);
                b.asShortBuffer().put(s);
            }
            out.put(name, new Entry(dtype.name(), e.shape(), b.array()));
        });
        return out;
    }

    /** The values of an F32/F16/BF16 entry. */
    static float[] decode(Entry e) {
        ByteBuffer b = ByteBuffer.wrap(e.data()).order(ByteOrder.LITTLE_ENDIAN);
        float[] v;
        switch (e.dtype()) {
            case "F32" -> {
                v = new float[e.data().length / 4];
                b.asFloatBuffer().get(v);
            }
            case "F16", "BF16" -> {
                short[] s = new short[e.data().length / 2];
                b.asShortBuffer().get(s);
                v = new float[s.length];
                for (int i = 0; i < s.length; i++) v[i] = e.dtype().equals("F16") ? DType.f16ToF32(s[i]) : DType.bf16ToF32(s[i]);
            }
            default -> throw new IllegalArgumentException("not a float entry: " + e.dtype());
        }
        return v;
    }

    static void write(Path file, Map<String, Entry> entries) throws IOException {
        ObjectNode header = new ObjectMapper().createObjectNode();
        long at = 0;
        for (var e : entries.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            var shape = t.putArray("shape");
            for (int d : e.getValue().shape()) shape.add(d);
            var offsets = t.putArray("data_offsets");
            offsets.add(at);
            at += e.getValue().data().length;
            offsets.add(at);
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (h.length + 7) / 8 * 8;
        byte[] hp = new byte[padded];
        java.util.Arrays.fill(hp, (byte) ' ');
        System.arraycopy(h, 0, hp, 0, h.length);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
            out.write(hp);
            for (Entry e : entries.values()) out.write(e.data());
        }
    }
}
