package io.jdiffusion.pipelines;

/** Argument checks whose messages name the parameter and what is allowed. */
final class Validation {
    private Validation() {}

    static void divisibleBy8(String name, int v) {
        if (v <= 0 || v % 8 != 0) throw new IllegalArgumentException(name + " must be a positive multiple of 8, got " + v);
    }

    static void openUnit(String name, double v) {
        if (!(v > 0 && v < 1)) throw new IllegalArgumentException(name + " must be in (0, 1), got " + v);
    }

    static void strength(double v) {
        if (!(v > 0 && v <= 1)) throw new IllegalArgumentException("strength must be in (0, 1], got " + v);
    }
}
