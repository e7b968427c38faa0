package io.jdiffusion.runs;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `runs list --where` on the acceptance sweep: the list's own values select, typos are errors. */
class WhereCliTest {

    private static long rows(String listing) {
        return listing.lines().filter(l -> l.startsWith("20")).count();
    }

    @Test
    void whereMatchesTheListedValuesAndRefusesUnknownKeys() {
        String store = TinySweep.store().toString();
        var on = ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "refiner=0.5");
        assertEquals(0, on.status(), on.err());
        assertEquals(4, rows(on.out()), on.out());
        assertTrue(on.out().lines().filter(l -> l.startsWith("20")).allMatch(l -> l.contains(" 0.5 ")), on.out());
        var both = ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "refiner=0.50", "--where", "mask.dilate=3x1",
                "--where", "seed=2", "--experiment", TinySweep.EXPERIMENT);
        assertEquals(1, rows(both.out()), both.out());

        var unknown = ImageRunIdTest.run("runs", "list", "--runs", store, "--where", "nosuchkey=1");
        assertEquals(2, unknown.status());
        assertTrue(unknown.err().contains("--where: unknown key 'nosuchkey'; known keys: ") && unknown.err().contains("refiner"), unknown.err());
        var typo = ImageRunIdTest.run("runs", "compare", "--runs", store, "--experiment", "tiny-swep", "-o", "/tmp/never.html");
        assertEquals(2, typo.status());
        assertTrue(typo.err().contains("no run is filed under 'tiny-swep'; experiments in the store: " + TinySweep.EXPERIMENT), typo.err());
    }
}
