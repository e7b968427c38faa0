package io.jdiffusion.benchmarks;

import io.jdiffusion.tensor.Backend;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link Backend} that forwards every call to another one and adds up the wall time and count
 * per op (method name): where a forward pass spends its time, per op family. Ops the backend
 * calls on itself are counted inside the op that called them.
 */
final class OpProfile implements InvocationHandler {
    private final Backend target;
    private final Map<String, long[]> totals = new TreeMap<>();
    private int depth;

    private OpProfile(Backend target) { this.target = target; }

    /** A backend that times {@code target}'s ops; {@link #report} prints them. */
    static Backend wrap(Backend target) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, new OpProfile(target));
    }

    @Override
    public Object invoke(Object proxy, java.lang.reflect.Method m, Object[] args) throws Throwable {
        long t0 = System.nanoTime();
        depth++;
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            depth--;
            if (depth == 0) {
                long[] t = totals.computeIfAbsent(m.getName(), k -> new long[2]);
                t[0] += System.nanoTime() - t0;
                t[1]++;
            }
        }
    }

    /** The totals so far of the profiling backend {@code be} as lines "op  seconds  share  calls", largest first; then clears them. */
    static String report(Backend be) {
        OpProfile p = (OpProfile) Proxy.getInvocationHandler(be);
        long all = p.totals.values().stream().mapToLong(t -> t[0]).sum();
        StringBuilder sb = new StringBuilder();
        p.totals.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0])).forEach(e ->
                sb.append(String.format(Locale.ROOT, "  %-20s %8.3f s %5.1f%% %6d calls%n", e.getKey(), e.getValue()[0] / 1e9,
                        100.0 * e.getValue()[0] / Math.max(1, all), e.getValue()[1])));
        sb.append(String.format(Locale.ROOT, "  %-20s %8.3f s%n", "all ops", all / 1e9));
        p.totals.clear();
        return sb.toString();
    }
}
