package io.jdiffusion.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Plain lines when stderr is not a terminal; a redrawn bar on a terminal. */
class ProgressBarTest {
    private static String run(boolean terminal) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ProgressBar p = new ProgressBar(new PrintStream(buf, true, StandardCharsets.UTF_8), terminal);
        float[] t = {999, 666, 333};
        for (int i = 0; i < 3; i++) p.onStep(i, 3, t[i], null);
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void plainLinesWithoutATerminal() {
        String s = run(false);
        assertFalse(s.contains("\r"), s);
        var lines = s.lines().toList();
        assertEquals(3, lines.size(), s);
        // the first step's time includes loading and prompt encoding, and says so; later steps are the current rate
        Pattern line = Pattern.compile("step (\\d)/3  t=(\\d+)  \\d+\\.\\d\\d (s with loading|s/step)");
        for (int i = 0; i < 3; i++) {
            var m = line.matcher(lines.get(i));
            assertTrue(m.matches(), lines.get(i));
            assertEquals(String.valueOf(i + 1), m.group(1));
            assertEquals(i == 0 ? "s with loading" : "s/step", m.group(3));
        }
        assertEquals("333", line.matcher(lines.get(2)).results().findFirst().orElseThrow().group(2));
    }

    @Test
    void redrawnBarOnATerminal() {
        String s = run(true).stripTrailing(); // the rate is padded to clear a longer one drawn before
        assertEquals(3, s.chars().filter(c -> c == '\r').count(), s);
        assertTrue(s.endsWith("3/3  t= 333  " + s.substring(s.lastIndexOf("  ") + 2)), s);
        assertTrue(s.contains("[##############################] 3/3"), s);
    }

    @Test
    void cellsOfASweepOrBatchAreCountedAndTimed() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        CellProgress p = new CellProgress(new PrintStream(buf, true, StandardCharsets.UTF_8), false);
        for (int k = 1; k <= 2; k++) {
            p.started(k, 2, "seed=" + k);
            for (int i = 0; i < 2; i++) p.onStep(i, 2, 500 - 499 * i, null);
            p.finished(k, 2, "seed=" + k, 0.5);
        }
        var lines = buf.toString(StandardCharsets.UTF_8).lines().toList();
        assertEquals(8, lines.size(), lines.toString());
        assertEquals("cell 1/2  seed=1", lines.get(0));
        assertTrue(lines.get(1).matches("cell 1/2  step 1/2  t=500  \\d+\\.\\d\\d s with loading"), lines.get(1));
        assertTrue(lines.get(2).matches("cell 1/2  step 2/2  t=1  \\d+\\.\\d\\d s/step"), lines.get(2));
        assertEquals("cell 1/2 done in 0.50 s (120.0 cells/min)", lines.get(3));
        assertTrue(lines.get(6).startsWith("cell 2/2  step 2/2  t=1  "), lines.get(6));
    }
}
