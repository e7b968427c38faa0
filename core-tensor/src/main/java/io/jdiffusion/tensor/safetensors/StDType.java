package io.jdiffusion.tensor.safetensors;

import io.jdiffusion.tensor.DType;

/**
 * The dtypes a safetensors header may name that this reader supports, with their item sizes
 * (all byte-sized formats of the reference implementation; the sub-byte F4/F6 ones are refused).
 * F8_E4M3 is the "fn" variant (no infinities, S.1111.111 is NaN), F8_E5M2 the IEEE-like one.
 */
public enum StDType {
    F64(8), F32(4), F16(2), BF16(2), F8_E4M3(1), F8_E5M2(1),
    I64(8), I32(4), I16(2), I8(1), U64(8), U32(4), U16(2), U8(1), BOOL(1);

    private final int itemSize;

    StDType(int itemSize) { this.itemSize = itemSize; }

    public int itemSize() { return itemSize; }

    /** The tensor dtype for floating formats a model can compute with, or null. */
    public DType tensorType() {
        return switch (this) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            default -> null;
        };
    }

    public static StDType of(DType d) {
        return switch (d) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
        };
    }

    /** float8 e4m3fn bits to float (exact). */
    public static float e4m3ToF32(byte b) {
        int exp = (b >> 3) & 0xF, mant = b & 7;
        float mag;
        if (exp == 15 && mant == 7) mag = Float.NaN;
        else if (exp == 0) mag = mant * 0x1p-9f;
        else mag = (8 + mant) * Math.scalb(1f, exp - 10);
        return b < 0 ? -mag : mag;
    }

    /** float8 e5m2 bits to float (exact): they are the high byte of a binary16. */
    public static float e5m2ToF32(byte b) { return Float.float16ToFloat((short) ((b & 0xff) << 8)); }

    /** The dtype named {@code s}, or null when the name is unknown. */
    public static StDType parse(String s) {
        for (StDType t : values()) if (t.name().equals(s)) return t;
        return null;
    }
}
