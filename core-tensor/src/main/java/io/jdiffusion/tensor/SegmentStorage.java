package io.jdiffusion.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Little-endian F32/F16/BF16 elements in a memory segment, typically a slice of a memory-mapped
 * safetensors file: weights are read in place, never copied wholesale onto the heap.
 */
public record SegmentStorage(MemorySegment segment, DType dtype) implements Storage {
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override public Device device() { return Device.CPU; }
    @Override public long length() { return segment.byteSize() / dtype.byteSize(); }

    @Override
    public void readFloats(long offset, float[] dst, int dstOffset, int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(segment, F32_LE, offset * 4, dst, dstOffset, count);
            case F16 -> {
                long base = offset * 2;
                for (int i = 0; i < count; i++) dst[dstOffset + i] = Float.float16ToFloat(segment.get(I16_LE, base + 2L * i));
            }
            case BF16 -> {
                long base = offset * 2;
                for (int i = 0; i < count; i++) dst[dstOffset + i] = DType.bf16ToF32(segment.get(I16_LE, base + 2L * i));
            }
        }
    }
}
