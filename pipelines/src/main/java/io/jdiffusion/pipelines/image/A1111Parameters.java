package io.jdiffusion.pipelines.image;

import java.math.BigDecimal;
import java.util.Map;

/**
 * The {@code parameters} PNG text of AUTOMATIC1111's web UI ({@code create_infotext}), which many
 * tools (the A1111 "PNG Info" tab, Civitai, ComfyUI importers) parse:
 * <pre>
 * {prompt}
 * Negative prompt: {negative}          (line omitted when the negative prompt is empty/null)
 * Steps: 30, Sampler: Euler, CFG scale: 7.0, Seed: 42, Size: 1024x1024, Model: sd_xl_base_1.0
 * </pre>
 * A value is written as is unless it contains ',', ':' or a newline; then it is JSON-quoted
 * ({@code json.dumps(v, ensure_ascii=False)}). Null values are skipped, and an entry whose value
 * equals its key is written as the bare key (A1111's convention). Numbers print like Python's
 * {@code str}: {@code 7.0}, {@code 0.0001}, {@code 1e-05}.
 */
public final class A1111Parameters {
    private A1111Parameters() {}

    /** The PNG text keyword A1111 uses. */
    public static final String KEYWORD = "parameters";

    public static String format(String prompt, String negativePrompt, Map<String, ?> params) {
        StringBuilder sb = new StringBuilder(prompt == null ? "" : prompt);
        if (negativePrompt != null && !negativePrompt.isEmpty()) sb.append("\nNegative prompt: ").append(negativePrompt);
        sb.append('\n');
        boolean first = true;
        for (Map.Entry<String, ?> e : params.entrySet()) {
            if (e.getValue() == null) continue;
            if (!first) sb.append(", ");
            first = false;
            String v = pythonStr(e.getValue());
            if (v.equals(e.getKey())) {
                sb.append(v);
            } else {
                sb.append(e.getKey()).append(": ").append(quote(v));
            }
        }
        return sb.toString().strip();
    }

    /** A1111's {@code quote}: JSON-quote only when the value contains ',', ':' or '\n'. */
    static String quote(String v) {
        if (v.indexOf(',') < 0 && v.indexOf('\n') < 0 && v.indexOf(':') < 0) return v;
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }

    /** Python's {@code str()} of ints, floats and strings. */
    static String pythonStr(Object v) {
        if (v instanceof Float f) return pythonFloat(f.doubleValue(), Float.toString(f));
        if (v instanceof Double d) return pythonFloat(d, Double.toString(d));
        if (v instanceof Boolean b) return b ? "True" : "False";
        return v.toString();
    }

    private static String pythonFloat(double d, String shortest) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return (1 / d < 0) ? "-0.0" : "0.0";
        // Java's toString gives the shortest round-tripping digits (JDK 19+); re-layout like repr().
        BigDecimal bd = new BigDecimal(shortest).stripTrailingZeros();
        String digits = bd.unscaledValue().abs().toString();
        int exp = digits.length() - 1 - bd.scale(); // decimal exponent of the first digit
        String sign = bd.signum() < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = bd.abs().toPlainString();
            if (!plain.contains(".")) plain += ".0";
            return sign + plain;
        }
        String mant = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }
}
