package io.jdiffusion.tensor.safetensors;

import io.jdiffusion.tensor.DType;

/** The dtypes a safetensors header may name, with their item sizes. */
public enum StDType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

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

    /** The dtype named {@code s}, or null when the name is unknown. */
    public static StDType parse(String s) {
        for (StDType t : values()) if (t.name().equals(s)) return t;
        return null;
    }
}
