package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --where matches what `runs list` shows; unknown keys and experiments are errors naming the known ones. */
class RunFilterTest {

    private static RunStore.Entry run(String id, String experiment, String refinerStart, String dilate, String guidance, String seed) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("pipeline", "inpaint");
        p.put("base.model", "/m/base");
        p.put("base.steps", "30");
        p.put("base.guidance", guidance);
        if (refinerStart == null) p.put("refiner", "off");
        else {
            p.put("refiner.model", "/m/refiner");
            p.put("refiner.denoisingStart", refinerStart);
        }
        if (dilate == null) p.put("mask.dilate", "off");
        else {
            p.put("mask.dilate.kernel", dilate.split("x")[0]);
            p.put("mask.dilate.iterations", dilate.split("x")[1]);
        }
        p.put("seed", seed);
        return new RunStore.Entry(id, experiment, List.of("t"), "now", "inpaint", p, 1, null);
    }

    private static final List<RunStore.Entry> RUNS = List.of(
            run("a", "tutorial", null, null, "7.5", "-737"),
            run("b", "tutorial", "0.8", null, "7.5", "-737"),
            run("c", "tutorial", "0.8", "15x2", "5", "42"),
            run("d", "other", null, "15x2", "5", "42"));

    private static List<String> ids(String experiment, String... where) {
        return new RunFilter(experiment, null, List.of(where)).select(RUNS).stream().map(RunStore.Entry::id).toList();
    }

    @Test
    void columnValuesAndAliasesMatch() {
        assertEquals(List.of("b", "c"), ids(null, "refiner=0.8"));
        assertEquals(List.of("b", "c"), ids(null, "refiner=0.80"), "numbers compare as numbers");
        assertEquals(List.of("b", "c"), ids(null, "refiner=on"));
        assertEquals(List.of("a", "d"), ids(null, "refiner=off"));
        assertEquals(List.of("c", "d"), ids(null, "mask.dilate=15x2"));
        assertEquals(List.of("c", "d"), ids(null, "dilate=15x2"));
        assertEquals(List.of("a", "b"), ids(null, "mask.dilate=OFF"), "text ignores case");
        assertEquals(List.of("c", "d"), ids(null, "mask.dilate.kernel=15"));
        assertEquals(List.of("a", "b"), ids(null, "guidance=7.50"));
        assertEquals(List.of("c", "d"), ids(null, "base.guidance=5.0"));
        assertEquals(List.of("a", "b"), ids(null, "seed=-737"));
        assertEquals(List.of("c"), ids("tutorial", "seed=42", "refiner=0.8", "steps=30"));
        assertEquals(List.of(), ids(null, "seed=1"), "a known key with no matching value selects nothing, without an error");
    }

    @Test
    void unknownKeysAndExperimentsAreErrorsNamingTheKnownOnes() {
        var k = assertThrows(IllegalArgumentException.class, () -> ids(null, "nosuchkey=1"));
        assertTrue(k.getMessage().startsWith("--where: unknown key 'nosuchkey'; known keys: ")
                && k.getMessage().contains("refiner") && k.getMessage().contains("base.guidance") && k.getMessage().contains("mask.dilate"), k.getMessage());
        var e = assertThrows(IllegalArgumentException.class, () -> ids("tutorail"));
        assertEquals("--experiment: no run is filed under 'tutorail'; experiments in the store: other, tutorial", e.getMessage());
        var w = assertThrows(IllegalArgumentException.class, () -> ids(null, "seed"));
        assertEquals("--where: expected KEY=VALUE, got 'seed'", w.getMessage());
        var empty = assertThrows(IllegalArgumentException.class, () -> new RunFilter("x", null, null).select(List.of()));
        assertTrue(empty.getMessage().endsWith("none (the store is empty)"), empty.getMessage());
    }
}
