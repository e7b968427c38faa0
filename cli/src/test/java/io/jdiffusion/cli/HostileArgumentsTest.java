package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.Image;
import io.jdiffusion.pipelines.image.PngWriter;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.jdiffusion.cli.HostileCli.expect;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Defect 5 of issue 16 and the smaller argument defects: values far beyond the documented limits
 * (docs/user-guide.md, "Limits") ended in an OutOfMemoryError, an integer overflow or minutes of
 * work. Each is refused with exit status 2 and a message naming the option; the model is a copy
 * whose UNet weights are broken, so exit 2 also proves no weight was read.
 */
class HostileArgumentsTest {
    @TempDir
    static Path tmp;
    static Path broken, odd;

    @BeforeAll
    static void inputs() throws IOException {
        broken = HostileCli.brokenBase(tmp);
        odd = tmp.resolve("odd.png"); // 100×60: 60 is no multiple of 8
        PngWriter.write(odd, new Image(100, 60, 3, new byte[100 * 60 * 3]), Map.of());
    }

    private static String[] with(String command, String... extra) {
        Path out = tmp.resolve("never.png");
        List<String> a = new ArrayList<>(List.of(command, "--model", broken.toString(), "--prompt", "x", "--quiet", "-o", out.toString()));
        List<String> more = List.of(extra);
        if (!command.equals("txt2img") && !more.contains("--image")) a.addAll(List.of("--image", Fixtures.path("init.png").toString()));
        if (command.equals("inpaint") && !more.contains("--mask")) a.addAll(List.of("--mask", Fixtures.path("mask.png").toString()));
        a.addAll(more);
        return a.toArray(String[]::new);
    }

    private static void refused(String message, String... args) {
        expect(2, message, args);
        assertFalse(Files.exists(tmp.resolve("never.png")), "no output file");
    }

    @Test
    void sizesBeyondTheLimitsAreRefused() {
        refused("--width/--height: width must be at most 16384", with("txt2img", "--width", "2147483640", "--height", "8"));
        refused("--width/--height: height must be a positive multiple of 8", with("txt2img", "--width", "8", "--height", "-8"));
        refused("--width/--height: width must be at most 16384", with("txt2img", "--width", "65536", "--height", "65536"));
    }

    @Test
    void countsBeyondTheLimitsAreRefused() {
        refused("--num-images: imagesPerPrompt must be in [1, 64]", with("txt2img", "--num-images", "100000"));
        refused("--steps: steps must be in [1, 1000]", with("txt2img", "--steps", "100000"));
        refused("--steps", with("txt2img", "--steps", "2147483647"));
    }

    @Test
    void dilationAndOutpaintBeyondTheLimitsAreRefused() {
        refused("--dilate: dilate iterations must be in [0, 1000]", with("inpaint", "--dilate", "3x2147483647"));
        refused("--dilate: dilate kernel must be in [1, 1023]", with("inpaint", "--dilate", "100000x1"));
        refused("--extend: outpaint extent right must be in [0, 16384]", with("outpaint", "--extend", "0,0,1000000000,0"));
        refused("--extend", with("outpaint", "--extend", "0,0,2147483647,2147483647"));
        // each extent allowed, but the canvas they make is not
        refused("exceeds 16384 pixels per side", with("outpaint", "--extend", "16000,0,16000,0"));
    }

    @Test
    void aSizeTakenFromTheInputImageSaysSo() {
        refused("from the input image", with("inpaint", "--image", odd.toString(), "--mask", odd.toString()));
    }

    @Test
    void memoryBeyondWhatIsFreeIsAMessageNotAnOutOfMemoryError() {
        // 64 images of 16384²: within every per-option limit, far beyond any heap
        CommandLineTest.Result r = HostileCli.run(with("txt2img", "--width", "16384", "--height", "16384", "--num-images", "64"));
        if (r.status() != 2) throw new AssertionError("expected exit 2, got " + r.status() + ": " + r.err());
        HostileCli.assertClean(r);
        if (!r.err().contains("too large for the CPU backend") && !r.err().contains("of Java heap")) {
            throw new AssertionError("a memory message: " + r.err());
        }
    }

    @Test
    void anImageWhoseHeaderClaimsAHugeSizeIsRefusedBeforeDecoding() throws IOException {
        byte[] png = PngWriter.encode(new Image(8, 8, 3, new byte[8 * 8 * 3]), Map.of());
        java.nio.ByteBuffer.wrap(png).putInt(16, 65535).putInt(20, 65535); // IHDR width and height
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(png, 12, 17);
        java.nio.ByteBuffer.wrap(png).putInt(29, (int) crc.getValue());
        Path huge = tmp.resolve("huge.png");
        Files.write(huge, png);
        refused("at most 16384 per side", with("img2img", "--image", huge.toString()));
    }

    @Test
    void aFolderOrDeviceAsImageIsNamedAsSuch() throws IOException {
        Path folder = Files.createDirectories(tmp.resolve("pictures"));
        refused("--image: " + folder + " is a folder", with("img2img", "--image", folder.toString()));
        refused("not a regular file", with("img2img", "--image", "/dev/zero"));
        refused("--mask: " + folder + " is a folder", with("inpaint", "--mask", folder.toString()));
    }
}
