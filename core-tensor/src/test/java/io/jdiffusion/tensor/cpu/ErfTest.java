package io.jdiffusion.tensor.cpu;

import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.math.MathContext;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Erf against an independent high-precision evaluation of its Taylor series. */
class ErfTest {
    private static final MathContext MC = new MathContext(80);
    /** 2/sqrt(pi) to 60 digits. */
    private static final BigDecimal TWO_OVER_SQRT_PI =
            new BigDecimal("1.12837916709551257389615890312154517168810125865799771368817");

    /** erf(x) = 2/sqrt(pi) * sum_n (-1)^n x^(2n+1) / (n! (2n+1)), in 80-digit decimal arithmetic. */
    static double erfSeries(double xd) { return erfSeriesExact(xd).doubleValue(); }

    static BigDecimal erfSeriesExact(double xd) {
        BigDecimal x = new BigDecimal(xd), x2 = x.multiply(x, MC);
        BigDecimal term = x; // (-1)^n x^(2n+1) / n!
        BigDecimal sum = BigDecimal.ZERO;
        BigDecimal eps = new BigDecimal("1e-40");
        for (int n = 0; n < 2000; n++) {
            BigDecimal t = term.divide(BigDecimal.valueOf(2L * n + 1), MC);
            sum = sum.add(t, MC);
            if (n > 2 && t.abs().compareTo(eps) < 0) break;
            term = term.multiply(x2, MC).divide(BigDecimal.valueOf(-(n + 1L)), MC);
        }
        return sum.multiply(TWO_OVER_SQRT_PI, MC);
    }

    @Test
    void agreesWithHighPrecisionSeriesTo1e15() {
        double worstAbs = 0, worstRel = 0;
        // every branch of Cody's approximation (|x| < 0.5, < 4, >= 4) and their borders, both signs
        for (int i = -700; i <= 700; i++) {
            double x = i / 100.0 + 0.003;
            double expected = erfSeries(x), actual = Erf.erf(x);
            double abs = Math.abs(expected - actual);
            worstAbs = Math.max(worstAbs, abs);
            worstRel = Math.max(worstRel, abs / Math.abs(expected));
            assertTrue(abs <= 1e-15 && abs <= 4e-16 * Math.abs(expected) + 1e-300,
                    "erf(" + x + ") = " + actual + ", series gives " + expected);
        }
        for (double x : new double[] {0.5, -0.5, Math.nextDown(0.5), 4.0, Math.nextDown(4.0), -4.0, 1e-8, -3e-5, 0.0}) {
            double expected = erfSeries(x), actual = Erf.erf(x);
            assertEquals(expected, actual, 4e-16 * Math.abs(expected), "erf(" + x + ")");
        }
        assertTrue(worstAbs < 1e-15, "worst abs " + worstAbs + ", rel " + worstRel);
    }

    @Test
    void erfcAgreesWithSeriesRelativeToItsSize() {
        // 1 − erf from the 80-digit series (it still has ~55 digits at x = 7, where erfc is 4e-23)
        for (int i = 50; i <= 700; i++) {
            double x = i / 100.0 + 0.003;
            double expected = BigDecimal.ONE.subtract(erfSeriesExact(x), MC).doubleValue(), actual = Erf.erfc(x);
            double rel = Math.abs(expected - actual) / expected;
            assertTrue(rel <= 1e-14, "erfc(" + x + ") = " + actual + ", series gives " + expected);
        }
        // the GELU tail: gelu(-10) = -5·erfc(10/√2), ~ -7.6e-23 (0 before erfc was used there)
        float tail = (float) (-5 * BigDecimal.ONE.subtract(erfSeriesExact(10 * 0.7071067811865476), MC).doubleValue());
        assertEquals(tail, CpuBackend.gelu(-10f), Math.ulp(tail));
    }

    @Test
    void saturatesAndKnownValues() {
        assertEquals(1.0, Erf.erf(30), 0);
        assertEquals(-1.0, Erf.erf(-30), 0);
        assertEquals(1.0, Erf.erf(Double.POSITIVE_INFINITY), 0);
        assertEquals(-1.0, Erf.erf(Double.NEGATIVE_INFINITY), 0);
        assertTrue(Double.isNaN(Erf.erf(Double.NaN)));
        // erf(1) = 0.8427007929497148693412206350826... (Abramowitz & Stegun, table 7.1)
        assertEquals(0.8427007929497149, Erf.erf(1.0), 2e-16);
        // erf(x) ~ 2x/sqrt(pi) for tiny x
        assertEquals(2e-10 / Math.sqrt(Math.PI), Erf.erf(1e-10), 5e-26);
    }

    @Test
    void geluUsesErf() {
        // gelu(1) = 0.5 * (1 + erf(1/sqrt 2)) = 0.8413447460685429...
        assertEquals(0.8413447460685429f, CpuBackend.gelu(1f), 0f);
        assertEquals(-0.15865525393145707f, CpuBackend.gelu(-1f), 1e-8f);
        assertEquals(0f, CpuBackend.gelu(0f), 0f);
    }
}
