package io.jdiffusion.pipelines;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.lang.invoke.MethodType;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@link GenerationSettings} as a flat map of paths ("schedule.steps", "mask.blur", "outputLatents"),
 * found by walking the record and its nested records: what lets the generation record, the command
 * line and the run store handle a setting added to the record without a line of their own.
 */
final class SettingPaths {
    private SettingPaths() {}

    /** Converts values read as JSON (Integer for a long, a list of any) to the setting's type. */
    private static final ObjectMapper CONVERT = JsonMapper.builder().build();

    /** Every setting by its path, in the record's order; unset ones map to null. */
    static Map<String, Object> values(GenerationSettings s) {
        Map<String, Object> out = new LinkedHashMap<>();
        walk(s, "", out);
        return out;
    }

    private static void walk(Record r, String prefix, Map<String, Object> out) {
        for (RecordComponent c : r.getClass().getRecordComponents()) {
            Object v = get(c, r);
            if (isPart(c)) walk((Record) v, prefix + c.getName() + ".", out);
            else out.put(prefix + c.getName(), v);
        }
    }

    /** {@code s} with the settings at these paths replaced; each nested record is built once, with all its new values. */
    static GenerationSettings with(GenerationSettings s, Map<String, ?> values) {
        Map<String, Object> known = values(s);
        for (String path : values.keySet()) {
            if (!known.containsKey(path)) {
                throw new IllegalArgumentException("no setting '" + path + "'; the settings are " + String.join(", ", known.keySet()));
            }
        }
        return (GenerationSettings) rebuilt(s, "", values);
    }

    private static Record rebuilt(Record r, String prefix, Map<String, ?> values) {
        RecordComponent[] cs = r.getClass().getRecordComponents();
        Object[] args = new Object[cs.length];
        Class<?>[] types = new Class<?>[cs.length];
        boolean changed = false;
        for (int i = 0; i < cs.length; i++) {
            RecordComponent c = cs[i];
            String path = prefix + c.getName();
            Object v = get(c, r);
            if (isPart(c)) {
                Record part = rebuilt((Record) v, path + ".", values);
                changed |= part != v;
                v = part;
            } else if (values.containsKey(path)) {
                v = converted(path, c, values.get(path));
                changed = true;
            }
            args[i] = v;
            types[i] = c.getType();
        }
        if (!changed) return r;
        try {
            return (Record) r.getClass().getDeclaredConstructor(types).newInstance(args);
        } catch (InvocationTargetException e) {
            // the record's own check refused a value: its message names the parameter
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A nested record of the settings (prompts, schedule, …), as opposed to a setting that is a record (outpaint). */
    private static boolean isPart(RecordComponent c) {
        return c.getType().isRecord() && c.getType().getEnclosingClass() == GenerationSettings.class;
    }

    private static Object converted(String path, RecordComponent c, Object value) {
        Class<?> type = c.getType();
        if (value == null) {
            if (type.isPrimitive()) throw new IllegalArgumentException(path + " needs a value (" + type + "), got none");
            return null;
        }
        Class<?> boxed = MethodType.methodType(type).wrap().returnType();
        if (boxed.isInstance(value) && !(c.getGenericType() instanceof ParameterizedType)) return value;
        try {
            return CONVERT.convertValue(value, CONVERT.constructType(c.getGenericType()));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path + " must be a " + c.getGenericType().getTypeName() + ", got '" + value + "'", e);
        }
    }

    private static Object get(RecordComponent c, Record r) {
        try {
            return c.getAccessor().invoke(r);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }
}
