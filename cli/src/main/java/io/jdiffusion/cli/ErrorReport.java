package io.jdiffusion.cli;

import io.jdiffusion.tensor.ErrorText;

import java.util.Set;

/**
 * The one-line text of a failure for the terminal: the exception's own message with control
 * characters escaped (names from files may hold ANSI escapes or CR), never a bare Java class name.
 * A JDK exception without a message of its own is a bug of ours; it is reported as such, with where
 * it happened, and JDIFFUSION_DEBUG=1 prints the stack trace.
 */
final class ErrorReport {
    private ErrorReport() {}

    /** JDK exceptions whose messages (if any) mean nothing to a user of the command line. */
    private static final Set<Class<?>> GENERIC = Set.of(NullPointerException.class, ArithmeticException.class,
            ClassCastException.class, ArrayIndexOutOfBoundsException.class, IndexOutOfBoundsException.class,
            StringIndexOutOfBoundsException.class, NegativeArraySizeException.class, UnsupportedOperationException.class,
            java.util.NoSuchElementException.class, java.util.ConcurrentModificationException.class);

    static String describe(Throwable ex) {
        if (ex instanceof OutOfMemoryError) {
            return "out of memory (" + (Runtime.getRuntime().maxMemory() >> 20) + " MiB of Java heap): use a smaller size or fewer"
                    + " images, or give Java more memory (JDK_JAVA_OPTIONS=-Xmx…)";
        }
        String m = ex.getMessage();
        if (m == null || m.isBlank() || GENERIC.contains(ex.getClass())) {
            StackTraceElement at = ex.getStackTrace().length == 0 ? null : ex.getStackTrace()[0];
            return "internal error" + (at == null ? "" : " in " + at.getClassName().substring(at.getClassName().lastIndexOf('.') + 1)
                    + "." + at.getMethodName() + " line " + at.getLineNumber())
                    + "; please report it (JDIFFUSION_DEBUG=1 prints the details)";
        }
        return ErrorText.escapeKeepingLines(m);
    }
}
