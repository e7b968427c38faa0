package io.jdiffusion.tensor;

import java.util.Collection;
import java.util.Iterator;

/**
 * Text from files (tensor names, record fields, paths) made safe to print in an error message:
 * control characters escaped so a name cannot move the cursor, clear the terminal or forge a
 * line, and long lists cut after {@link #MAX_ITEMS} items with "and N more".
 */
public final class ErrorText {
    private ErrorText() {}

    /** How many items of a list an error message shows. */
    public static final int MAX_ITEMS = 20;

    /** {@code s} with every control character (C0, DEL, C1, line and paragraph separators) written as \\uXXXX; "null" for null. */
    public static String escape(String s) {
        if (s == null) return "null";
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean control = c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 || c == 0x2029;
            if (control && b == null) b = new StringBuilder(s.length() + 16).append(s, 0, i);
            if (b != null) {
                if (control) b.append(String.format("\\u%04x", (int) c));
                else b.append(c);
            }
        }
        return b == null ? s : b.toString();
    }

    /** Like {@link #escape}, but keeps line feeds (for multi-line messages whose lines are our own). */
    public static String escapeKeepingLines(String s) {
        if (s == null) return "null";
        String[] lines = s.split("\n", -1);
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < lines.length; i++) {
            if (i > 0) b.append('\n');
            b.append(escape(lines[i]));
        }
        return b.toString();
    }

    /** The first {@link #MAX_ITEMS} items joined by {@code separator}, then "and N more"; each item escaped. */
    public static String list(Collection<String> items, String separator) {
        StringBuilder b = new StringBuilder();
        Iterator<String> it = items.iterator();
        for (int i = 0; i < MAX_ITEMS && it.hasNext(); i++) {
            if (i > 0) b.append(separator);
            b.append(escape(it.next()));
        }
        int more = items.size() - MAX_ITEMS;
        if (more > 0) b.append(separator).append("and ").append(more).append(" more");
        return b.toString();
    }
}
