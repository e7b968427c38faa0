package io.jdiffusion.tensor.weights;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.SegmentStorage;
import io.jdiffusion.tensor.Shapes;
import io.jdiffusion.tensor.Storage;
import io.jdiffusion.tensor.Tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.IntStream;

/**
 * A {@link WeightSource} of random F16/BF16 tensors (or F32 ones holding the F16 draws, so a device
 * backend computing in F32 gets the same numbers by a plain copy) with the keys and shapes a module tree asks
 * for, so full-size SDXL parts can be built and timed without a checkpoint (speed does not depend
 * on the values). Learn the keys with {@link #shapesOf}: it builds the module on a
 * {@link Params#shapesOnly} tree.
 *
 * <p>Values: element {@code i} of key {@code k} is a pure function of (seed, k, i): a 64-bit
 * counter hash made uniform in {@code center ± bound} and rounded to the storage dtype, where
 * <ul>
 *   <li>weights of rank ≥ 2 (linear, conv): bound 1/√fan_in, PyTorch's default init for
 *       nn.Linear / nn.Conv2d, so activations keep their scale through the layers;</li>
 *   <li>weights of rank 1 (norm gammas): 1 ± 0.1; everything else (biases, embeddings): ± 0.02.</li>
 * </ul>
 * Two ways to serve them, holding the same numbers:
 * <ul>
 *   <li>{@link #lazy}: each tensor's storage computes its elements when read, so a 2.6 B-parameter
 *       UNet costs no memory on the CPU backend (which reads weights in place on every use);</li>
 *   <li>{@link #streaming}: each tensor is written (on all cores) into one reusable host buffer,
 *       which a device backend copies straight from on upload; a tensor is valid only until the
 *       next {@link #tensor} call, so this suits backends that copy on upload, not the CPU.</li>
 * </ul>
 * {@link #forBackend} picks the right one.
 */
public final class RandomWeights implements WeightSource {
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Map<String, int[]> shapes;
    private final long seed;
    private final DType dtype;
    private final boolean streaming;
    private Arena arena;
    private MemorySegment buffer;

    private RandomWeights(Map<String, int[]> shapes, long seed, DType dtype, boolean streaming) {
        if (dtype != DType.F16 && dtype != DType.BF16 && dtype != DType.F32) {
            throw new IllegalArgumentException("random weights are stored as F16, BF16 or F32, not " + dtype);
        }
        this.shapes = new LinkedHashMap<>();
        shapes.forEach((k, v) -> this.shapes.put(k, v.clone()));
        this.seed = seed;
        this.dtype = dtype;
        this.streaming = streaming;
    }

    /** Tensors whose storage computes elements on read (no memory held). */
    public static RandomWeights lazy(Map<String, int[]> shapes, long seed, DType dtype) {
        return new RandomWeights(shapes, seed, dtype, false);
    }

    /** Tensors written into one reusable host buffer, each valid until the next {@link #tensor} call. */
    public static RandomWeights streaming(Map<String, int[]> shapes, long seed, DType dtype) {
        return new RandomWeights(shapes, seed, dtype, true);
    }

    /**
     * {@link #lazy} for the CPU backend (it keeps the tensors it is given) and the shape-only one
     * (it never reads them), else {@link #streaming}.
     */
    public static RandomWeights forBackend(Map<String, int[]> shapes, long seed, DType dtype, Backend backend) {
        Device.Kind k = backend.device().kind();
        return k == Device.Kind.CPU || k == Device.Kind.META ? lazy(shapes, seed, dtype) : streaming(shapes, seed, dtype);
    }

    /** Every key and shape the module built by {@code build} asks for (built on meta tensors). */
    public static Map<String, int[]> shapesOf(String model, Consumer<Params> build) {
        Params p = Params.shapesOnly(model, DType.F16);
        build.accept(p);
        return new LinkedHashMap<>(p.requested());
    }

    /** Total element count of all keys. */
    public long parameterCount() {
        long n = 0;
        for (int[] s : shapes.values()) n += Shapes.numel(s);
        return n;
    }

    public DType dtype() { return dtype; }

    @Override public Set<String> keys() { return Collections.unmodifiableSet(shapes.keySet()); }

    @Override
    public int[] shape(String key) { return shapeOf(key).clone(); }

    private int[] shapeOf(String key) {
        int[] s = shapes.get(key);
        if (s == null) throw new IllegalArgumentException("no random weight '" + key + "' (" + shapes.size() + " keys were declared)");
        return s;
    }

    @Override
    public String origin(String key) { return "random weights (seed " + seed + ")"; }

    @Override
    public synchronized Tensor tensor(String key) {
        int[] shape = shapeOf(key);
        Law law = Law.of(key, shape);
        long keySeed = keySeed(seed, key);
        long n = Shapes.numel(shape);
        if (!streaming) return new Tensor(new RandomStorage(keySeed, law.center, law.bound, n, dtype), 0, shape);
        int size = dtype.byteSize();
        long bytes = n * size;
        if (buffer == null || buffer.byteSize() < bytes) {
            if (arena != null) arena.close();
            arena = Arena.ofShared();
            buffer = arena.allocate(Math.max(bytes, 1 << 20), 64);
        }
        MemorySegment b = buffer;
        int chunk = 1 << 20;
        int chunks = Math.toIntExact((n + chunk - 1) / chunk);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            long from = (long) c * chunk, to = Math.min(n, from + chunk);
            if (dtype == DType.F32) {
                for (long i = from; i < to; i++) b.set(F32_LE, 4 * i, value(bits(keySeed, law.center, law.bound, i, DType.F16), DType.F16));
            } else {
                for (long i = from; i < to; i++) b.set(I16_LE, 2 * i, bits(keySeed, law.center, law.bound, i, dtype));
            }
        });
        return new Tensor(new SegmentStorage(b.asSlice(0, bytes), dtype), 0, shape);
    }

    @Override
    public synchronized void close() {
        if (arena != null) arena.close();
        arena = null;
        buffer = null;
    }

    /** center ± bound, chosen from the parameter's name and shape (see the class comment). */
    record Law(float center, float bound) {
        static Law of(String key, int[] shape) {
            if (key.endsWith("weight") && shape.length >= 2 && !key.contains("embedding")) {
                long fanIn = Shapes.numel(shape) / shape[0];
                return new Law(0f, (float) (1 / Math.sqrt(fanIn)));
            }
            if (key.endsWith("weight") && shape.length == 1) return new Law(1f, 0.1f);
            return new Law(0f, 0.02f);
        }
    }

    static long keySeed(long seed, String key) {
        long h = 0xcbf29ce484222325L; // FNV-1a over the key's chars
        for (int i = 0; i < key.length(); i++) {
            h ^= key.charAt(i);
            h *= 0x100000001b3L;
        }
        return mix(seed * 0x9E3779B97F4A7C15L ^ h);
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Element i as stored bits. */
    static short bits(long keySeed, float center, float bound, long i, DType dtype) {
        long z = mix(keySeed + i * 0x9E3779B97F4A7C15L);
        float u = (z >>> 40) * 0x1.0p-24f; // [0, 1)
        float v = center + bound * (2 * u - 1);
        return dtype == DType.F16 ? DType.f32ToF16(v) : DType.f32ToBf16(v);
    }

    static float value(short bits, DType dtype) {
        return dtype == DType.F16 ? DType.f16ToF32(bits) : DType.bf16ToF32(bits);
    }

    /** Elements computed when read: no bytes held. */
    record RandomStorage(long keySeed, float center, float bound, long length, DType dtype) implements Storage {
        @Override public Device device() { return Device.CPU; }

        @Override
        public void readFloats(long offset, float[] dst, int dstOffset, int count) {
            if (offset < 0 || offset + count > length) {
                throw new IndexOutOfBoundsException("read of [" + offset + ", " + (offset + count) + ") from random storage of " + length);
            }
            DType drawn = dtype == DType.F32 ? DType.F16 : dtype;
            for (int i = 0; i < count; i++) dst[dstOffset + i] = value(bits(keySeed, center, bound, offset + i, drawn), drawn);
        }

        @Override
        public String toString() { return "RandomStorage[" + length + " x " + dtype + ", " + center + " ± " + bound + "]"; }
    }

    @Override
    public String toString() {
        return "RandomWeights[" + shapes.size() + " keys, " + parameterCount() + " parameters, " + dtype
                + (streaming ? ", streaming" : ", lazy") + "]";
    }
}
