package io.jdiffusion.tensor;

/** Storage types of tensors. Compute on the CPU is always F32; the others are storage formats. */
public enum DType {
    F32(4), F16(2), BF16(2);

    private final int byteSize;

    DType(int byteSize) { this.byteSize = byteSize; }

    public int byteSize() { return byteSize; }

    /** IEEE binary16 bits to float, exact (Float.float16ToFloat is exact for every input). */
    public static float f16ToF32(short bits) { return Float.float16ToFloat(bits); }

    /** float to binary16 bits with round-to-nearest-even, like torch's .half(). */
    public static short f32ToF16(float v) { return Float.floatToFloat16(v); }

    /** bfloat16 bits to float: the upper half of a binary32, exact. */
    public static float bf16ToF32(short bits) { return Float.intBitsToFloat((bits & 0xffff) << 16); }

    /** float to bfloat16 bits with round-to-nearest-even (NaN kept quiet), like torch's .bfloat16(). */
    public static short f32ToBf16(float v) {
        int x = Float.floatToRawIntBits(v);
        if ((x & 0x7fffffff) > 0x7f800000) return (short) ((x >>> 16) | 0x40);
        int rounding = 0x7fff + ((x >>> 16) & 1);
        return (short) ((x + rounding) >>> 16);
    }
}
