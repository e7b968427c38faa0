package io.jdiffusion.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jdiffusion profile}: one JSON object with the acceptance fields; a bad --dtype named. */
class ProfileCommandTest {
    @Test
    void theCommandPrintsOneJsonObject() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        int rc;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            rc = Main.execute("profile", "--model", "sdxl-base", "--width", "1024", "--height", "1024", "--dtype", "f16", "--steps", "1", "--json");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, rc);
        JsonNode j = new ObjectMapper().readTree(out.toString(StandardCharsets.UTF_8));
        for (String f : new String[] {"peakDeviceBytes", "weightBytes", "activationPeakBytes", "kernelLaunchesPerStep", "hostLaunchesPerStep", "gemmFlopsPerStep"}) {
            assertTrue(j.path(f).isIntegralNumber() && j.path(f).asLong() > 0, f + " in " + j);
        }
    }

    @Test
    void aBadDtypeIsRejectedByName() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int rc;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            rc = Main.execute("profile", "--model", "sdxl-base", "--dtype", "f8");
        } finally {
            System.setErr(old);
        }
        assertEquals(2, rc);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("--dtype must be f16, bf16 or f32, got 'f8'"), err.toString(StandardCharsets.UTF_8));
    }
}
