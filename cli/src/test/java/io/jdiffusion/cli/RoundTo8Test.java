package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.ImageFiles;
import io.jdiffusion.pipelines.image.PngWriter;
import io.jdiffusion.tensor.Backends;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A size that is not a multiple of 8 says where it came from (the input image, --extend) and what
 * --round-to-8 would make of it, before any weight loads; with --round-to-8 the output is rounded down.
 */
class RoundTo8Test {
    @TempDir
    static Path tmp;

    private static Path odd, oddMask, square;

    @BeforeAll
    static void images() throws IOException {
        if (System.getProperty(Backends.PROPERTY) == null && System.getenv(Backends.ENV) == null) System.setProperty(Backends.PROPERTY, "cpu");
        odd = tmp.resolve("odd.png"); // 70×60: neither side a multiple of 8
        PngWriter.write(odd, Image.filled(70, 60, 90, 120, 200), Map.of());
        oddMask = tmp.resolve("odd-mask.png");
        PngWriter.write(oddMask, Image.filled(70, 60, 255), Map.of());
        square = tmp.resolve("square.png");
        PngWriter.write(square, Image.filled(64, 64, 90, 120, 200), Map.of());
    }

    private static String[] inpaint(String model, Path out, String... extra) {
        var a = new java.util.ArrayList<>(java.util.List.of("inpaint", "--model", model, "--image", odd.toString(), "--mask", oddMask.toString(),
                "-p", "a wall", "--steps", "2", "--quiet", "--no-record", "-o", out.toString()));
        a.addAll(java.util.List.of(extra));
        return a.toArray(String[]::new);
    }

    private static String[] outpaint(String model, Path out, String... extra) {
        var a = new java.util.ArrayList<>(java.util.List.of("outpaint", "--model", model, "--image", square.toString(), "--extend", "0,0,3,10",
                "-p", "a wall", "--steps", "2", "--quiet", "--no-record", "-o", out.toString()));
        a.addAll(java.util.List.of(extra));
        return a.toArray(String[]::new);
    }

    @Test
    void anOddSizeSaysWhereItCameFromBeforeAnyWeightLoads() throws IOException {
        String broken = HostileCli.brokenBase(tmp.resolve("m1")).toString(); // its UNet cannot load: status 2 proves nothing loaded
        HostileCli.expect(2, "the output size 70×60 is not a multiple of 8 on each side (from the input image " + odd
                + " of 70×60); add --round-to-8 to round it down to 64×56 as diffusers does, or give --width/--height",
                inpaint(broken, tmp.resolve("a.png")));
        HostileCli.expect(2, "the output size 67×74 is not a multiple of 8 on each side (from the input image " + square
                + " of 64×64 plus --extend 0,0,3,10 gives 67×74); add --round-to-8 to round it down to 64×72",
                outpaint(broken, tmp.resolve("b.png")));
    }

    @Test
    void roundTo8RoundsTheOutputDownLikeDiffusers() {
        String base = HostileCli.base().toString();
        Path a = tmp.resolve("rounded-inpaint.png");
        HostileCli.expect(0, null, inpaint(base, a, "--round-to-8"));
        Image in = ImageFiles.read(a);
        assertEquals("64x56", in.size());
        Path b = tmp.resolve("rounded-outpaint.png");
        HostileCli.expect(0, null, outpaint(base, b, "--round-to-8"));
        assertEquals("64x72", ImageFiles.read(b).size());
        // an explicit size wins over the image's
        Path c = tmp.resolve("sized.png");
        HostileCli.expect(0, null, inpaint(base, c, "--width", "48", "--height", "40"));
        assertEquals("48x40", ImageFiles.read(c).size());
    }
}
