package io.jdiffusion.tensor.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Tensor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files the way the reference implementation ({@code safetensors.torch.save_file})
 * does: tensors laid out by decreasing item size then name (so every tensor is naturally aligned),
 * a compact JSON header with {@code __metadata__} first, padded with spaces to a multiple of 8 bytes.
 *
 * <p>Tensors are collected first and written by {@link #write(Path)}, atomically: the bytes go to
 * a temporary file in the target's folder, are forced to disk, and the file is then moved over
 * the target, so readers never see a half-written file.
 *
 * <pre>{@code
 * new SafetensorsWriter().metadata("format", "pt").add("w", tensor).add("b", bias, DType.F16).write(path);
 * }</pre>
 */
public final class SafetensorsWriter {
    /** Floats are converted and written this many at a time. */
    private static final int CHUNK = 1 << 16;

    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /** A tensor to write: its bytes come from a float source converted to {@code dtype}, or raw bytes. */
    private record Entry(String name, StDType dtype, int[] shape, Tensor tensor, float[] floats, byte[] raw) {
        long byteLength() { return Shapes.numel(shape) * dtype.itemSize(); }
    }

    /** Adds a {@code __metadata__} string pair. */
    public SafetensorsWriter metadata(String key, String value) {
        if (key == null || value == null) throw new IllegalArgumentException("metadata key and value must not be null");
        metadata.put(key, value);
        return this;
    }

    /** Adds {@code tensor} in its own dtype. */
    public SafetensorsWriter add(String name, Tensor tensor) { return add(name, tensor, tensor.dtype()); }

    /** Adds {@code tensor} converted to {@code dtype} (round to nearest even). */
    public SafetensorsWriter add(String name, Tensor tensor, DType dtype) {
        return put(new Entry(checkName(name), StDType.of(dtype), tensor.shape(), tensor, null, null));
    }

    /** Adds float data of {@code shape} stored as {@code dtype} (F32 exact; F16/BF16 round to nearest even). */
    public SafetensorsWriter add(String name, DType dtype, float[] data, int... shape) {
        checkLength(name, data.length, shape);
        return put(new Entry(checkName(name), StDType.of(dtype), shape.clone(), null, data, null));
    }

    /** Adds float data as F32. */
    public SafetensorsWriter addF32(String name, float[] data, int... shape) { return add(name, DType.F32, data, shape); }

    public SafetensorsWriter addF64(String name, double[] data, int... shape) {
        return addPacked(name, StDType.F64, data.length, shape, b -> { for (double v : data) b.putDouble(v); });
    }

    public SafetensorsWriter addI64(String name, long[] data, int... shape) {
        return addPacked(name, StDType.I64, data.length, shape, b -> { for (long v : data) b.putLong(v); });
    }

    public SafetensorsWriter addI32(String name, int[] data, int... shape) {
        return addPacked(name, StDType.I32, data.length, shape, b -> { for (int v : data) b.putInt(v); });
    }

    public SafetensorsWriter addI16(String name, short[] data, int... shape) {
        return addPacked(name, StDType.I16, data.length, shape, b -> { for (short v : data) b.putShort(v); });
    }

    /** {@code count} values of {@code dtype}, put little-endian into a buffer by {@code fill}. */
    private SafetensorsWriter addPacked(String name, StDType dtype, int count, int[] shape, java.util.function.Consumer<ByteBuffer> fill) {
        checkLength(name, count, shape);
        ByteBuffer b = le((long) dtype.itemSize() * count);
        fill.accept(b);
        return addRaw(name, dtype, b.array(), shape);
    }

    public SafetensorsWriter addI8(String name, byte[] data, int... shape) { return addRaw(name, StDType.I8, data, shape); }

    public SafetensorsWriter addU8(String name, byte[] data, int... shape) { return addRaw(name, StDType.U8, data, shape); }

    public SafetensorsWriter addBool(String name, boolean[] data, int... shape) {
        byte[] b = new byte[data.length];
        for (int i = 0; i < data.length; i++) b[i] = (byte) (data[i] ? 1 : 0);
        return addRaw(name, StDType.BOOL, b, shape);
    }

    /** Adds little-endian bytes of any dtype; their count must be numel(shape) × item size. */
    public SafetensorsWriter addRaw(String name, StDType dtype, byte[] littleEndian, int... shape) {
        checkName(name);
        long need = Shapes.numel(checkShape(name, shape)) * dtype.itemSize();
        if (littleEndian.length != need) {
            throw new IllegalArgumentException("tensor '" + name + "': " + dtype + " " + Arrays.toString(shape)
                    + " needs " + need + " bytes, got " + littleEndian.length);
        }
        return put(new Entry(name, dtype, shape.clone(), null, null, littleEndian.clone()));
    }

    /** Names added so far, in the order they were added. */
    public List<String> names() { return List.copyOf(entries.keySet()); }

    /** Writes the file atomically (temp file in the same folder, then a move over {@code path}). */
    public void write(Path path) {
        Path target = path.toAbsolutePath();
        Path dir = target.getParent();
        List<Entry> order = new ArrayList<>(entries.values());
        // the reference layout: larger items first, then by name
        order.sort(Comparator.comparingInt((Entry e) -> -e.dtype.itemSize()).thenComparing(Entry::name));
        byte[] header = header(order);
        try {
            Files.createDirectories(dir);
            AtomicFile.replace(Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp"), target, ch -> {
                writeFully(ch, le(8).putLong(header.length).flip());
                writeFully(ch, ByteBuffer.wrap(header));
                for (Entry e : order) writeData(ch, e);
            });
        } catch (IOException e) {
            throw new SafetensorsException(target, null, "cannot be written: " + e, e);
        }
    }

    private byte[] header(List<Entry> order) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (JsonGenerator g = new JsonFactory().createGenerator(out)) {
                g.writeStartObject();
                if (!metadata.isEmpty()) {
                    g.writeObjectFieldStart("__metadata__");
                    for (Map.Entry<String, String> kv : metadata.entrySet()) g.writeStringField(kv.getKey(), kv.getValue());
                    g.writeEndObject();
                }
                long offset = 0;
                for (Entry e : order) {
                    g.writeObjectFieldStart(e.name);
                    g.writeStringField("dtype", e.dtype.name());
                    g.writeArrayFieldStart("shape");
                    for (int d : e.shape) g.writeNumber(d);
                    g.writeEndArray();
                    g.writeArrayFieldStart("data_offsets");
                    g.writeNumber(offset);
                    offset += e.byteLength();
                    g.writeNumber(offset);
                    g.writeEndArray();
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            int pad = (8 - out.size() % 8) % 8; // so the data area starts 8-byte aligned
            for (int i = 0; i < pad; i++) out.write(' ');
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory JSON writing failed", e);
        }
    }

    private static void writeData(FileChannel ch, Entry e) throws IOException {
        if (e.raw != null) {
            writeFully(ch, ByteBuffer.wrap(e.raw));
            return;
        }
        long n = Shapes.numel(e.shape);
        float[] buf = new float[(int) Math.min(CHUNK, n)];
        ByteBuffer bytes = le((long) buf.length * e.dtype.itemSize());
        for (long done = 0; done < n; ) {
            int m = (int) Math.min(buf.length, n - done);
            if (e.tensor != null) e.tensor.storage().readFloats(e.tensor.offset() + done, buf, 0, m);
            else System.arraycopy(e.floats, (int) done, buf, 0, m);
            bytes.clear();
            switch (e.dtype) {
                case F32 -> { for (int i = 0; i < m; i++) bytes.putFloat(buf[i]); }
                case F16 -> { for (int i = 0; i < m; i++) bytes.putShort(DType.f32ToF16(buf[i])); }
                case BF16 -> { for (int i = 0; i < m; i++) bytes.putShort(DType.f32ToBf16(buf[i])); }
                default -> throw new IllegalStateException("float data as " + e.dtype);
            }
            bytes.flip();
            writeFully(ch, bytes);
            done += m;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static ByteBuffer le(long size) {
        if (size > Integer.MAX_VALUE - 8) throw new IllegalArgumentException(size + " bytes do not fit one buffer");
        return ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    }

    private SafetensorsWriter put(Entry e) {
        checkShape(e.name, e.shape);
        if (entries.putIfAbsent(e.name, e) != null) throw new IllegalArgumentException("tensor '" + e.name + "' added twice");
        return this;
    }

    private static String checkName(String name) {
        if (name == null) throw new IllegalArgumentException("tensor name must not be null");
        if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is reserved, not a tensor name");
        return name;
    }

    private static int[] checkShape(String name, int[] shape) {
        if (shape.length > SafetensorsFile.MAX_RANK) {
            throw new IllegalArgumentException("tensor '" + name + "': " + shape.length + " dimensions, at most " + SafetensorsFile.MAX_RANK);
        }
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("tensor '" + name + "': negative dimension in " + Arrays.toString(shape));
        }
        return shape;
    }

    private static void checkLength(String name, int length, int[] shape) {
        checkName(name);
        long n = Shapes.numel(checkShape(name, shape));
        if (n != length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " holds " + n
                    + " elements, data has " + length);
        }
    }
}
