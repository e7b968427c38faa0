package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.nn.Linear;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RandomWeightsTest {
    static Map<String, int[]> shapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("proj.weight", new int[] {300, 1280});
        m.put("proj.bias", new int[] {300});
        m.put("norm.weight", new int[] {1280});
        m.put("conv.weight", new int[] {64, 32, 3, 3});
        m.put("token_embedding.weight", new int[] {100, 16});
        return m;
    }

    @Test
    void lazyAndStreamingServeTheSameNumbersWithTheDocumentedLaws() {
        for (DType dt : new DType[] {DType.F16, DType.BF16}) {
            try (RandomWeights lazy = RandomWeights.lazy(shapes(), 7, dt); RandomWeights stream = RandomWeights.streaming(shapes(), 7, dt)) {
                assertEquals(300L * 1280 + 300 + 1280 + 64 * 32 * 9 + 1600, lazy.parameterCount());
                for (String k : shapes().keySet()) {
                    float[] a = lazy.tensor(k).toFloatArray();
                    Tensor s = stream.tensor(k);
                    assertEquals(dt, s.dtype());
                    assertArrayEquals(a, s.toFloatArray(), k + " " + dt);
                    float[] law = switch (k) {
                        case "proj.weight" -> new float[] {0, (float) (1 / Math.sqrt(1280))};
                        case "conv.weight" -> new float[] {0, (float) (1 / Math.sqrt(32 * 9))};
                        case "norm.weight" -> new float[] {1, 0.1f};
                        default -> new float[] {0, 0.02f};
                    };
                    double mean = 0, min = Double.MAX_VALUE, max = -Double.MAX_VALUE;
                    for (float v : a) {
                        mean += v;
                        min = Math.min(min, v);
                        max = Math.max(max, v);
                    }
                    mean /= a.length;
                    double tol = law[1] + (Math.abs(law[0]) + law[1]) * 0x1p-8; // plus one rounding step of bf16
                    assertTrue(min >= law[0] - tol && max <= law[0] + tol, k + ": values in " + min + ".." + max);
                    // uniform: the extremes come close to the bounds, the mean close to the centre
                    if (a.length >= 1000) {
                        assertTrue(max - min > 1.9 * law[1], k + " spread " + (max - min));
                        assertEquals(law[0], mean, 0.05 * law[1], k + " mean");
                    }
                }
            }
        }
    }

    @Test
    void valuesDependOnSeedAndKeyAndReadsOfAnyWindowAgree() {
        try (RandomWeights a = RandomWeights.lazy(shapes(), 1, DType.F16); RandomWeights b = RandomWeights.lazy(shapes(), 2, DType.F16)) {
            float[] w1 = a.tensor("proj.weight").toFloatArray();
            assertArrayEquals(w1, RandomWeights.lazy(shapes(), 1, DType.F16).tensor("proj.weight").toFloatArray(), "deterministic");
            assertFalse(java.util.Arrays.equals(w1, b.tensor("proj.weight").toFloatArray()), "another seed, other numbers");
            float[] bias = a.tensor("proj.bias").toFloatArray(), other = a.tensor("token_embedding.weight").toFloatArray();
            assertFalse(bias[0] == other[0] && bias[1] == other[1] && bias[2] == other[2], "keys get their own streams");
            // a slice view reads the same elements as the whole
            Tensor row = a.tensor("proj.weight").get(5);
            assertArrayEquals(java.util.Arrays.copyOfRange(w1, 5 * 1280, 6 * 1280), row.toFloatArray());
        }
    }

    @Test
    void shapesOfListsWhatAModuleAsksForAndLoadsThroughParams() {
        Map<String, int[]> s = RandomWeights.shapesOf("lin", p -> new Linear(p.child("fc"), 8, 4, true));
        assertEquals(2, s.size());
        assertArrayEquals(new int[] {4, 8}, s.get("fc.weight"));
        try (RandomWeights w = RandomWeights.forBackend(s, 3, DType.F16, CpuBackend.INSTANCE)) {
            Params p = Params.load("lin", w, CpuBackend.INSTANCE, null);
            Linear l = new Linear(p.child("fc"), 8, 4, true);
            p.finish();
            float[] x = {1, 2, 3, 4, 5, 6, 7, 8};
            float[] y = l.forward(Tensor.of(x, 1, 8)).toFloatArray();
            float[] wt = w.tensor("fc.weight").toFloatArray(), b = w.tensor("fc.bias").toFloatArray();
            for (int o = 0; o < 4; o++) {
                double acc = b[o];
                for (int i = 0; i < 8; i++) acc += (double) wt[o * 8 + i] * x[i];
                assertEquals(acc, y[o], 1e-5);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RandomWeights.lazy(s, 0, DType.F16).tensor("fc.nope"));
        assertTrue(e.getMessage().contains("fc.nope"), e.getMessage());
        // F32: the F16 draws widened, lazy and streaming alike
        float[] f16 = RandomWeights.lazy(s, 3, DType.F16).tensor("fc.weight").toFloatArray();
        assertArrayEquals(f16, RandomWeights.lazy(s, 3, DType.F32).tensor("fc.weight").toFloatArray());
        try (RandomWeights st = RandomWeights.streaming(s, 3, DType.F32)) {
            Tensor t = st.tensor("fc.weight");
            assertEquals(DType.F32, t.dtype());
            assertArrayEquals(f16, t.toFloatArray());
        }
    }

    @Test
    void recordingUploadsListsTheBackendCopiesOnly() {
        Map<String, int[]> s = RandomWeights.shapesOf("lin", p -> new Linear(p.child("fc"), 8, 4, true));
        // the CPU backend reads the source's tensors in place: nothing of its own to unload
        var cpu = Params.recordingUploads(() -> {
            Params p = Params.load("lin", RandomWeights.lazy(s, 0, DType.F16), CpuBackend.INSTANCE, null);
            new Linear(p.child("fc"), 8, 4, true);
        });
        assertEquals(0, cpu.size());
        // a backend that copies on upload: both copies are listed, in request order, with the source's values
        io.jdiffusion.tensor.Backend copying = (io.jdiffusion.tensor.Backend) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {io.jdiffusion.tensor.Backend.class}, (proxy, m, args) -> {
                    if (m.getName().equals("upload") && args.length == 2) {
                        Tensor t = (Tensor) args[0];
                        return Tensor.of(t.toFloatArray(), t.shape());
                    }
                    return m.invoke(CpuBackend.INSTANCE, args);
                });
        RandomWeights w = RandomWeights.lazy(s, 0, DType.F16);
        var copies = Params.recordingUploads(() -> {
            Params p = Params.load("lin", w, copying, null);
            new Linear(p.child("fc"), 8, 4, true);
        });
        assertEquals(2, copies.size());
        assertArrayEquals(w.tensor("fc.weight").toFloatArray(), copies.get(0).toFloatArray());
        assertArrayEquals(w.tensor("fc.bias").toFloatArray(), copies.get(1).toFloatArray());

        // a device backend (copies on upload) gets the streaming source: one reused host buffer, and
        // each copy keeps its own values after the buffer moved on to the next key
        io.jdiffusion.tensor.Backend device = (io.jdiffusion.tensor.Backend) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {io.jdiffusion.tensor.Backend.class}, (proxy, m, args) ->
                        m.getName().equals("device") ? io.jdiffusion.tensor.Device.cuda(0) : m.invoke(copying, args));
        try (RandomWeights st = RandomWeights.forBackend(s, 0, DType.F16, device)) {
            assertTrue(st.toString().contains("streaming"), st.toString());
            var viaBuffer = Params.recordingUploads(() -> {
                Params p = Params.load("lin", st, device, null);
                new Linear(p.child("fc"), 8, 4, true);
            });
            assertArrayEquals(w.tensor("fc.weight").toFloatArray(), viaBuffer.get(0).toFloatArray());
            assertArrayEquals(w.tensor("fc.bias").toFloatArray(), viaBuffer.get(1).toFloatArray());
        }
    }
}
