package io.jdiffusion.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `jdiffusion` with no arguments names every command (exit 2, a usage error). */
class NoArgumentsTest {
    @Test
    void listsEveryCommand() {
        CommandLineTest.Result r = CommandLineTest.run();
        assertEquals(2, r.status(), r.err());
        var commands = new picocli.CommandLine(new Main()).getSubcommands().keySet();
        assertTrue(commands.containsAll(List.of("txt2img", "img2img", "inpaint", "outpaint", "reproduce", "sweep", "batch", "runs")), commands.toString());
        for (String c : commands) assertTrue(r.err().contains(c), c + " is listed: " + r.err());
        assertTrue(r.err().contains("name a command: txt2img, img2img, inpaint, outpaint, reproduce, sweep, batch, runs"), r.err());
    }
}
