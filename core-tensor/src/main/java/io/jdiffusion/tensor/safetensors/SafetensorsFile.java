package io.jdiffusion.tensor.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file. The header is parsed and validated on open (the file is
 * untrusted: every problem becomes a {@link SafetensorsException}); tensors are then served as
 * views of the mapping, so weights are never copied onto the heap. Closing unmaps the file; tensors
 * handed out before must not be used afterwards.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Headers larger than this are refused (the official SDXL UNet's is about 200 KB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps and validates {@code path}. */
    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new SafetensorsException(path, null, "file is " + size + " bytes, shorter than the 8-byte header length");
            MemorySegment all = size == 0 ? MemorySegment.NULL : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = all.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsException(path, null, "header length " + Long.toUnsignedString(headerLen)
                        + " is outside [2, " + MAX_HEADER_BYTES + "]");
            }
            if (headerLen > size - 8) {
                throw new SafetensorsException(path, null, "header length " + headerLen + " runs past the end of the "
                        + size + "-byte file");
            }
            byte[] headerBytes = all.asSlice(8, headerLen).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment dataArea = all.asSlice(8 + headerLen);
            HeaderParse parsed = parseHeader(path, headerBytes, dataArea.byteSize());
            return new SafetensorsFile(path, arena, dataArea, parsed.tensors, parsed.metadata);
        } catch (SafetensorsException e) {
            arena.close();
            throw e;
        } catch (IOException e) {
            arena.close();
            throw new SafetensorsException(path, null, "cannot be read: " + e.getMessage(), e);
        }
    }

    private record HeaderParse(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    private static HeaderParse parseHeader(Path path, byte[] bytes, long dataSize) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(path, null, "header is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text.stripTrailing());
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(path, null, "header is not well-formed JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new SafetensorsException(path, null, "header is not a JSON object");
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode v = e.getValue();
            if (name.equals("__metadata__")) {
                if (!v.isObject()) throw new SafetensorsException(path, null, "__metadata__ is not an object");
                for (Iterator<Map.Entry<String, JsonNode>> m = v.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) {
                        throw new SafetensorsException(path, null, "__metadata__ value of '" + kv.getKey() + "' is not a string");
                    }
                    metadata.put(kv.getKey(), kv.getValue().asText());
                }
                continue;
            }
            tensors.put(name, parseEntry(path, name, v, dataSize));
        }
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo prev = null;
        for (TensorInfo t : byOffset) {
            if (prev != null && t.begin() < prev.end() && t.byteLength() > 0 && prev.byteLength() > 0) {
                throw new SafetensorsException(path, t.name(), "bytes [" + t.begin() + ", " + t.end()
                        + ") overlap those of '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + ")");
            }
            if (t.byteLength() > 0) prev = t;
        }
        return new HeaderParse(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode v, long dataSize) {
        if (!v.isObject()) throw new SafetensorsException(path, name, "entry is not an object");
        JsonNode dt = v.get("dtype"), shape = v.get("shape"), offs = v.get("data_offsets");
        if (dt == null || !dt.isTextual()) throw new SafetensorsException(path, name, "missing or non-string dtype");
        StDType dtype = StDType.parse(dt.asText());
        if (dtype == null) throw new SafetensorsException(path, name, "unknown dtype '" + dt.asText() + "'");
        if (shape == null || !shape.isArray()) throw new SafetensorsException(path, name, "missing shape array");
        if (shape.size() > 16) throw new SafetensorsException(path, name, "shape has " + shape.size() + " dimensions (at most 16)");
        int[] s = new int[shape.size()];
        long numel = 1;
        for (int i = 0; i < s.length; i++) {
            JsonNode d = shape.get(i);
            if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new SafetensorsException(path, name, "shape dimension " + i + " is " + d + ", not an integer in [0, 2^31)");
            }
            s[i] = (int) d.asLong();
            try {
                numel = Math.multiplyExact(numel, s[i]);
            } catch (ArithmeticException ex) {
                throw new SafetensorsException(path, name, "shape " + shape + " has more elements than fit in 64 bits");
            }
        }
        if (offs == null || !offs.isArray() || offs.size() != 2) {
            throw new SafetensorsException(path, name, "data_offsets is not a [begin, end] pair");
        }
        for (JsonNode o : offs) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.asLong() < 0) {
                throw new SafetensorsException(path, name, "data_offsets " + offs + " are not non-negative integers");
            }
        }
        long begin = offs.get(0).asLong(), end = offs.get(1).asLong();
        if (begin > end) throw new SafetensorsException(path, name, "data_offsets begin " + begin + " > end " + end);
        if (end > dataSize) {
            throw new SafetensorsException(path, name, "data_offsets [" + begin + ", " + end
                    + ") run past the end of the " + dataSize + "-byte data area");
        }
        long expected;
        try {
            expected = Math.multiplyExact(numel, dtype.itemSize());
        } catch (ArithmeticException ex) {
            throw new SafetensorsException(path, name, "byte size of shape " + shape + " overflows");
        }
        if (end - begin != expected) {
            throw new SafetensorsException(path, name, "holds " + (end - begin) + " bytes but " + dtype + " " + shape
                    + " needs " + expected);
        }
        return new TensorInfo(name, dtype, s, begin, end);
    }

    public Path path() { return path; }

    /** Tensor names in header order. */
    public List<String> names() { return List.copyOf(tensors.keySet()); }

    public boolean contains(String name) { return tensors.containsKey(name); }

    public Map<String, TensorInfo> infos() { return tensors; }

    public Map<String, String> metadata() { return metadata; }

    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafetensorsException(path, name, "no such tensor in the file");
        return t;
    }

    /** The raw little-endian bytes of a tensor, a view of the mapping. */
    public MemorySegment bytes(String name) {
        TensorInfo t = info(name);
        return data.asSlice(t.begin(), t.byteLength());
    }

    /** A zero-copy tensor over the mapped bytes (F32, F16 or BF16 entries). */
    public Tensor tensor(String name) {
        TensorInfo t = info(name);
        DType dt = t.dtype().tensorType();
        if (dt == null) throw new SafetensorsException(path, name, "dtype " + t.dtype() + " is not a floating tensor type (F32/F16/BF16)");
        return new Tensor(new SegmentStorage(bytes(name), dt), 0, t.shape());
    }

    /** Any numeric entry converted to float (integers and BOOL too), on the heap. */
    public float[] floats(String name) {
        TensorInfo t = info(name);
        MemorySegment b = bytes(name);
        int n = Math.toIntExact(t.numel());
        float[] out = new float[n];
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        switch (t.dtype()) {
            case F32, F16, BF16 -> tensor(name).storage().readFloats(0, out, 0, n);
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) b.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(le), 8L * i); }
            case I64 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(le), 8L * i); }
            case I32 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4L * i); }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * i); }
            case I8 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_BYTE, i); }
            case U8, BOOL -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_BYTE, i) & 0xff; }
        }
        return out;
    }

    @Override
    public void close() { arena.close(); }

    @Override
    public String toString() { return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]"; }
}
