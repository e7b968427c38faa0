package io.jdiffusion.tensor.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
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
    /** More dimensions than any real tensor has are refused. */
    public static final int MAX_RANK = 16;

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

    /** Validates the header of {@code path}, then maps the file. */
    public static SafetensorsFile open(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new SafetensorsException(path, null, "file is " + size + " bytes, shorter than the 8-byte header length");
            long headerLen = readFully(ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            // unsigned: a length of 2^63 or more reads as negative and lands here too
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
                throw new SafetensorsException(path, null, "header length " + Long.toUnsignedString(headerLen)
                        + " is outside [2, " + MAX_HEADER_BYTES + "]");
            }
            if (headerLen > size - 8) {
                throw new SafetensorsException(path, null, "header length " + headerLen + " runs past the end of the "
                        + size + "-byte file (truncated?)");
            }
            // the header is read and checked before anything is mapped: bad files cost no mapping
            byte[] headerBytes = readFully(ch, 8, (int) headerLen).array();
            long dataSize = size - 8 - headerLen;
            HeaderParse parsed = parseHeader(path, headerBytes, dataSize);
            Arena arena = Arena.ofShared();
            try {
                MemorySegment dataArea = dataSize == 0 ? MemorySegment.ofArray(new byte[0])
                        : ch.map(FileChannel.MapMode.READ_ONLY, 8 + headerLen, dataSize, arena);
                return new SafetensorsFile(path, arena, dataArea, parsed.tensors, parsed.metadata);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        } catch (IOException e) {
            throw new SafetensorsException(path, null, "cannot be read: " + e, e);
        }
    }

    private static ByteBuffer readFully(FileChannel ch, long position, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) throw new IOException("unexpected end of file");
        }
        return b.flip();
    }

    private record HeaderParse(Map<String, TensorInfo> tensors, Map<String, String> metadata) {}

    /** Parses the header JSON; the top level is walked with the streaming parser so duplicates are named. */
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
        // the reference implementation pads the header with spaces; it must start with the object
        if (!text.startsWith("{")) {
            throw new SafetensorsException(path, null, "header is not a JSON object (it starts with "
                    + quote(text.substring(0, Math.min(20, text.length()))) + ")");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        String current = null;
        try (JsonParser p = JSON.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new SafetensorsException(path, null, "header is not a JSON object");
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                current = name;
                p.nextToken();
                JsonNode v = p.readValueAsTree();
                if (v == null) throw new SafetensorsException(path, name, "entry has no value");
                if (name.equals("__metadata__")) {
                    parseMetadata(path, v, metadata);
                } else {
                    tensors.put(name, parseEntry(path, name, v, dataSize));
                }
                current = null;
            }
            if (t != JsonToken.END_OBJECT) throw new SafetensorsException(path, null, "header is not well-formed JSON");
            JsonToken trailing = p.nextToken();
            if (trailing != null) {
                throw new SafetensorsException(path, null, "header is not well-formed JSON: " + trailing + " after the closing brace");
            }
        } catch (JsonProcessingException e) {
            String msg = e.getOriginalMessage();
            if (msg != null && msg.startsWith("Duplicate field")) {
                // strict duplicate detection: at the top level (current == null) it is a tensor name,
                // inside an entry it is a repeated field such as "dtype"
                int a = msg.indexOf('\''), b = msg.lastIndexOf('\'');
                String dup = a >= 0 && b > a ? msg.substring(a + 1, b) : msg;
                if (current == null) throw new SafetensorsException(path, dup, "duplicate name in the header");
                throw new SafetensorsException(path, current, "duplicate key " + quote(dup) + " in the entry");
            }
            throw new SafetensorsException(path, current, "header is not well-formed JSON: " + abbreviate(msg));
        } catch (IOException e) {
            throw new SafetensorsException(path, null, "header is not well-formed JSON: " + abbreviate(e.getMessage()));
        } catch (SafetensorsException e) {
            throw e;
        } catch (RuntimeException e) {
            // whatever else the JSON library may throw on hostile input is still a bad header, not a crash
            throw new SafetensorsException(path, current, "header cannot be parsed: " + abbreviate(e.toString()), e);
        }
        checkOverlaps(path, tensors);
        return new HeaderParse(Collections.unmodifiableMap(tensors), Collections.unmodifiableMap(metadata));
    }

    private static void parseMetadata(Path path, JsonNode v, Map<String, String> metadata) {
        if (!v.isObject()) throw new SafetensorsException(path, null, "__metadata__ is not an object of strings but " + kind(v));
        for (Map.Entry<String, JsonNode> kv : v.properties()) {
            if (!kv.getValue().isTextual()) {
                throw new SafetensorsException(path, null, "__metadata__ value of " + quote(kv.getKey()) + " is not a string but " + kind(kv.getValue()));
            }
            metadata.put(kv.getKey(), kv.getValue().asText());
        }
    }

    /** Byte ranges of non-empty tensors must not share a byte (gaps are tolerated). */
    private static void checkOverlaps(Path path, Map<String, TensorInfo> tensors) {
        List<TensorInfo> byOffset = new ArrayList<>();
        for (TensorInfo t : tensors.values()) if (t.byteLength() > 0) byOffset.add(t);
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo prev = null;
        for (TensorInfo t : byOffset) {
            if (prev != null && t.begin() < prev.end()) {
                throw new SafetensorsException(path, t.name(), "data_offsets [" + t.begin() + ", " + t.end()
                        + ") overlap those of " + quote(prev.name()) + " [" + prev.begin() + ", " + prev.end() + ")");
            }
            if (prev == null || t.end() > prev.end()) prev = t;
        }
    }

    private static TensorInfo parseEntry(Path path, String name, JsonNode v, long dataSize) {
        if (!v.isObject()) throw new SafetensorsException(path, name, "entry is not an object but " + kind(v));
        JsonNode dt = v.get("dtype"), shape = v.get("shape"), offs = v.get("data_offsets");
        if (dt == null) throw new SafetensorsException(path, name, "missing dtype");
        if (!dt.isTextual()) throw new SafetensorsException(path, name, "dtype is not a string but " + kind(dt));
        StDType dtype = StDType.parse(dt.asText());
        if (dtype == null) {
            throw new SafetensorsException(path, name, "unknown or unsupported dtype " + quote(dt.asText())
                    + " (supported: " + java.util.Arrays.toString(StDType.values()) + ")");
        }
        if (shape == null) throw new SafetensorsException(path, name, "missing shape");
        if (!shape.isArray()) throw new SafetensorsException(path, name, "shape is not an array but " + kind(shape));
        if (shape.size() > MAX_RANK) {
            throw new SafetensorsException(path, name, "shape has " + shape.size() + " dimensions (at most " + MAX_RANK + ")");
        }
        int[] s = new int[shape.size()];
        for (int i = 0; i < s.length; i++) {
            JsonNode d = shape.get(i);
            if (!d.isIntegralNumber()) {
                throw new SafetensorsException(path, name, "shape dimension " + i + " is " + abbreviate(d.toString()) + ", not an integer");
            }
            if (!d.canConvertToLong() || d.asLong() < 0 || d.asLong() > Integer.MAX_VALUE) {
                throw new SafetensorsException(path, name, "shape dimension " + i + " is " + abbreviate(d.toString())
                        + ", outside [0, 2^31)");
            }
            s[i] = (int) d.asLong();
        }
        // element and byte counts; any zero dimension makes an empty tensor whatever the others are
        long expected = 0;
        if (java.util.Arrays.stream(s).noneMatch(x -> x == 0)) {
            try {
                long numel = 1;
                for (int x : s) numel = Math.multiplyExact(numel, x);
                expected = Math.multiplyExact(numel, dtype.itemSize());
            } catch (ArithmeticException ex) {
                throw new SafetensorsException(path, name, "shape " + abbreviate(shape.toString()) + " overflows: more bytes than fit in 64 bits");
            }
        }
        if (offs == null) throw new SafetensorsException(path, name, "missing data_offsets");
        if (!offs.isArray() || offs.size() != 2) {
            throw new SafetensorsException(path, name, "data_offsets is not a [begin, end] pair but " + abbreviate(offs.toString()));
        }
        for (JsonNode o : offs) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.asLong() < 0) {
                throw new SafetensorsException(path, name, "data_offsets " + abbreviate(offs.toString()) + " are not non-negative 64-bit integers");
            }
        }
        long begin = offs.get(0).asLong(), end = offs.get(1).asLong();
        if (begin > end) throw new SafetensorsException(path, name, "data_offsets begin " + begin + " > end " + end);
        if (end > dataSize) {
            throw new SafetensorsException(path, name, "data_offsets [" + begin + ", " + end
                    + ") run past the end of the " + dataSize + "-byte data area (file truncated?)");
        }
        if (end - begin != expected) {
            throw new SafetensorsException(path, name, "wrong byte length: data_offsets hold " + (end - begin) + " bytes but "
                    + dtype + " " + shape + " needs " + expected);
        }
        return new TensorInfo(name, dtype, s, begin, end);
    }

    private static String kind(JsonNode n) {
        return n.isNull() ? "null" : n.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + abbreviate(n.toString());
    }

    /** Names and values from an untrusted header are cut short in messages. */
    static String abbreviate(String s) {
        if (s == null) return "";
        return s.length() <= 200 ? s : s.substring(0, 200) + "...(" + s.length() + " chars)";
    }

    private static String quote(String s) { return "'" + abbreviate(s) + "'"; }

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

    /** Any numeric entry converted to float (integers and BOOL too, rounded to nearest), on the heap. */
    public float[] floats(String name) {
        TensorInfo t = info(name);
        if (t.numel() > Integer.MAX_VALUE - 8) {
            throw new SafetensorsException(path, name, t.numel() + " elements do not fit one Java array");
        }
        MemorySegment b = bytes(name);
        int n = (int) t.numel();
        float[] out = new float[n];
        ByteOrder le = ByteOrder.LITTLE_ENDIAN;
        switch (t.dtype()) {
            case F32, F16, BF16 -> tensor(name).storage().readFloats(0, out, 0, n);
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) b.get(ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(le), 8L * i); }
            case F8_E4M3 -> { for (int i = 0; i < n; i++) out[i] = StDType.e4m3ToF32(b.get(ValueLayout.JAVA_BYTE, i)); }
            case F8_E5M2 -> { for (int i = 0; i < n; i++) out[i] = StDType.e5m2ToF32(b.get(ValueLayout.JAVA_BYTE, i)); }
            case I64 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(le), 8L * i); }
            case U64 -> {
                for (int i = 0; i < n; i++) {
                    long v = b.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(le), 8L * i);
                    out[i] = v >= 0 ? v : (float) ((v >>> 1) | (v & 1)) * 2f; // unsigned; the sticky bit keeps one rounding
                }
            }
            case I32 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4L * i); }
            case U32 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(le), 4L * i) & 0xFFFFFFFFL; }
            case I16 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * i); }
            case U16 -> { for (int i = 0; i < n; i++) out[i] = b.get(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(le), 2L * i) & 0xFFFF; }
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
