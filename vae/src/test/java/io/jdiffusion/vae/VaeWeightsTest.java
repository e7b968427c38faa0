package io.jdiffusion.vae;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.WeightException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The module tree asks for exactly diffusers' keys and shapes, and bad weight files are reported key by key. */
class VaeWeightsTest {

    /** The official SDXL base/refiner {@code vae/config.json} values (spec §5.1), written out here on purpose. */
    static final String SDXL_VAE_CONFIG = """
            {
              "_class_name": "AutoencoderKL",
              "act_fn": "silu",
              "block_out_channels": [128, 256, 512, 512],
              "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"],
              "force_upcast": true,
              "in_channels": 3,
              "latent_channels": 4,
              "layers_per_block": 2,
              "norm_num_groups": 32,
              "out_channels": 3,
              "sample_size": 1024,
              "scaling_factor": 0.13025,
              "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]
            }
            """;

    @Test
    void fullSizeSdxlVaeRequestsExactlyTheOfficialKeysAndShapes() throws IOException {
        VaeConfig cfg = VaeConfig.fromJson(new ObjectMapper().readTree(SDXL_VAE_CONFIG));
        assertEquals(8, cfg.scaleFactor());
        assertEquals(0.13025f, cfg.scalingFactor());
        assertTrue(cfg.useQuantConv() && cfg.usePostQuantConv() && cfg.midBlockAddAttention() && cfg.forceUpcast());
        assertEquals(new VaeTiling(1024, 128, 0.25), VaeTiling.defaults(cfg));

        Params p = Params.shapesOnly("vae", DType.F16);
        new AutoencoderKL(cfg, p);
        p.finish();

        Map<String, String> expected = new TreeMap<>();
        JsonNode keys = Fixtures.sdxlKeys().get("vae");
        keys.fieldNames().forEachRemaining(k -> expected.put(k, keys.get(k).get(0).toString().replace(" ", "")));
        Map<String, String> actual = new TreeMap<>();
        p.requested().forEach((k, s) -> actual.put(k, Arrays.toString(s).replace(" ", "")));
        assertEquals(expected.keySet(), actual.keySet(), "key set of the full-size VAE");
        assertEquals(expected, actual, "shapes of the full-size VAE");
        assertEquals(248, actual.size(), "spec §4.4: the SDXL VAE state dict has 248 tensors");
    }

    @Test
    void fixtureVaeRequestsExactlyItsStoredKeys() {
        VaeConfig cfg = VaeConfig.load(Fixtures.path("sdxl-base/vae"));
        Params p = Params.shapesOnly("vae", DType.F32);
        new AutoencoderKL(cfg, p);
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.path("sdxl-base/vae/" + AutoencoderKL.WEIGHTS))) {
            Map<String, String> stored = new TreeMap<>(), requested = new TreeMap<>();
            for (String n : f.names()) stored.put(n, Arrays.toString(f.info(n).shape()));
            p.requested().forEach((k, s) -> requested.put(k, Arrays.toString(s)));
            assertEquals(stored, requested);
        }
    }

    @Test
    void missingMisShapedAndUnexpectedWeightsAreReportedByKey(@TempDir Path dir) throws IOException {
        Path src = Fixtures.path("sdxl-base/vae");
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        String missing = "decoder.up_blocks.1.resnets.2.conv2.bias";
        String misShaped = "encoder.mid_block.attentions.0.to_q.weight";
        String unexpected = "encoder.mid_block.attentions.0.to_q.extra";
        Map<String, float[]> data = new LinkedHashMap<>();
        Map<String, int[]> shapes = new LinkedHashMap<>();
        int[] goodShape;
        try (SafetensorsFile f = SafetensorsFile.open(src.resolve(AutoencoderKL.WEIGHTS))) {
            goodShape = f.info(misShaped).shape();
            for (String n : f.names()) {
                if (n.equals(missing)) continue;
                float[] v = f.floats(n);
                int[] s = f.info(n).shape();
                if (n.equals(misShaped)) {   // drop the last input column: [C, C] -> [C, C-1]
                    s = new int[] {s[0], s[1] - 1};
                    v = Arrays.copyOf(v, s[0] * s[1]);
                }
                data.put(n, v);
                shapes.put(n, s);
            }
        }
        data.put(unexpected, new float[] {1f, 2f});
        shapes.put(unexpected, new int[] {2});
        writeF32Safetensors(dir.resolve(AutoencoderKL.WEIGHTS), data, shapes);

        WeightException e = assertThrows(WeightException.class, () -> AutoencoderKL.load(dir, CpuBackend.INSTANCE));
        assertEquals(3, e.problems().size(), e.getMessage());
        String msg = e.getMessage();
        assertTrue(msg.contains("missing key '" + missing + "'"), msg);
        assertTrue(msg.contains("mis-shaped key '" + misShaped + "'") && msg.contains(Arrays.toString(goodShape)), msg);
        assertTrue(msg.contains("unexpected key '" + unexpected + "'"), msg);
    }

    @Test
    void badConfigsAreRejectedWithTheFieldName() throws IOException {
        ObjectMapper om = new ObjectMapper();
        ObjectNode n = (ObjectNode) om.readTree(SDXL_VAE_CONFIG);
        n.put("norm_num_groups", 24);
        var e = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(n));
        assertTrue(e.getMessage().contains("norm_num_groups"), e.getMessage());
        ObjectNode n2 = (ObjectNode) om.readTree(SDXL_VAE_CONFIG);
        n2.putArray("up_block_types").add("UpDecoderBlock2D").add("AttnUpDecoderBlock2D").add("UpDecoderBlock2D").add("UpDecoderBlock2D");
        var e2 = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(n2));
        assertTrue(e2.getMessage().contains("up_block_types") && e2.getMessage().contains("AttnUpDecoderBlock2D"), e2.getMessage());
        ObjectNode n3 = (ObjectNode) om.readTree(SDXL_VAE_CONFIG);
        n3.put("act_fn", "gelu");
        var e3 = assertThrows(IllegalArgumentException.class, () -> VaeConfig.fromJson(n3));
        assertTrue(e3.getMessage().contains("act_fn"), e3.getMessage());
    }

    /** A minimal safetensors writer: 8-byte little-endian header length, JSON header, F32 data. */
    static void writeF32Safetensors(Path file, Map<String, float[]> data, Map<String, int[]> shapes) throws IOException {
        StringBuilder h = new StringBuilder("{");
        long at = 0;
        for (var e : data.entrySet()) {
            long len = 4L * e.getValue().length;
            if (h.length() > 1) h.append(',');
            h.append('"').append(e.getKey()).append("\":{\"dtype\":\"F32\",\"shape\":")
                    .append(Arrays.toString(shapes.get(e.getKey())).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(at).append(',').append(at + len).append("]}");
            at += len;
        }
        h.append('}');
        while ((8 + h.length()) % 8 != 0) h.append(' ');
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(8 + header.length + at)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(header.length).put(header);
        for (float[] v : data.values()) for (float x : v) buf.putFloat(x);
        Files.write(file, buf.array());
    }
}
