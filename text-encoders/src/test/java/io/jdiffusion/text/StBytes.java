package io.jdiffusion.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Test-only safetensors byte reader/writer (8-byte little-endian header length, JSON header,
 * data), so tests can write doctored weight files: renamed, missing, extra or mis-shaped keys.
 */
final class StBytes {
    private StBytes() {}

    record Entry(String dtype, int[] shape, byte[] data) {}

    static Map<String, Entry> read(Path file) {
        try {
            byte[] all = Files.readAllBytes(file);
            long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            JsonNode header = new ObjectMapper().readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8));
            int base = 8 + (int) n;
            Map<String, Entry> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = header.properties().iterator(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) continue;
                JsonNode v = e.getValue();
                int[] shape = new int[v.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = v.get("shape").get(i).asInt();
                long from = v.get("data_offsets").get(0).asLong(), to = v.get("data_offsets").get(1).asLong();
                out.put(e.getKey(), new Entry(v.get("dtype").asText(), shape, Arrays.copyOfRange(all, base + (int) from, base + (int) to)));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path file, Map<String, Entry> tensors) {
        ObjectMapper om = new ObjectMapper();
        ObjectNode header = om.createObjectNode();
        long at = 0;
        for (Map.Entry<String, Entry> e : tensors.entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", e.getValue().dtype());
            ArrayNode s = t.putArray("shape");
            for (int d : e.getValue().shape()) s.add(d);
            t.putArray("data_offsets").add(at).add(at + e.getValue().data().length);
            at += e.getValue().data().length;
        }
        byte[] h = header.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + (int) at).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        for (Entry e : tensors.values()) buf.put(e.data());
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, buf.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An F32 tensor of the given shape filled with {@code value}. */
    static Entry f32(float value, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) b.putFloat(value);
        return new Entry("F32", shape, b.array());
    }
}
