package io.jdiffusion.cli;

import io.jdiffusion.pipelines.image.PngText;
import io.jdiffusion.pipelines.image.PngWriter;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static io.jdiffusion.cli.HostileCli.expect;
import static io.jdiffusion.cli.HostileCli.ok;
import static io.jdiffusion.cli.HostileCli.txt2img;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Defect 1 of issue 16: an output path that is not a regular file was replaced by a rename (as root,
 * {@code -o /dev/null} turned the system's null device into a regular file). Now such a target is
 * refused with exit status 2 unless --force, which writes through it; a folder is always refused,
 * and a name with another image format's extension (.gif) is refused instead of receiving PNG bytes.
 */
class HostileOutputTest {
    @TempDir
    static Path tmp;
    static Path broken;

    @BeforeAll
    static void models() throws IOException {
        broken = HostileCli.brokenBase(tmp);
    }

    private static String[] args(List<String> a) { return a.toArray(String[]::new); }

    private static BasicFileAttributes attrs(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    /** Runs a system tool; skips the test with a message when it is missing or not permitted (e.g. mknod without root). */
    private static void tool(String... cmd) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort(cmd[0] + " is not available here: " + e.getMessage());
            return;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        Assumptions.assumeTrue(p.exitValue() == 0, cmd[0] + " is not permitted here (mknod needs root or CAP_MKNOD): " + out.strip());
    }

    @Test
    void aDeviceNodeIsRefusedAndWrittenThroughWithForce() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("device"));
        Path node = dir.resolve("n");
        tool("mknod", "-m", "666", node.toString(), "c", "1", "3"); // a null device, as /dev/null
        expect(2, "not a regular file", args(txt2img(broken, node)));
        assertTrue(attrs(node).isOther(), "still a device node");
        expect(2, "--force", args(txt2img(broken, node)));

        ok(txt2img(HostileCli.base(), node, "--force"));
        assertTrue(attrs(node).isOther(), "written through: still a device node, not replaced by a regular file");
        assertEquals(List.of(node), list(dir), "no temporary file left next to it");
    }

    @Test
    void aFifoIsRefusedAndWrittenThroughWithForce() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("fifo"));
        Path fifo = dir.resolve("pipe.png");
        tool("mkfifo", fifo.toString());
        expect(2, "not a regular file", args(txt2img(broken, fifo))); // no hang: a refused FIFO is never opened
        assertTrue(attrs(fifo).isOther());

        AtomicReference<byte[]> read = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (InputStream in = Files.newInputStream(fifo)) {
                read.set(in.readAllBytes());
            } catch (IOException e) {
                read.set(new byte[0]);
            }
        });
        reader.setDaemon(true);
        reader.start();
        ok(txt2img(HostileCli.base(), fifo, "--force"));
        reader.join(30_000);
        assertNotNull(read.get(), "the reader got the image through the FIFO");
        assertTrue(PngText.read(read.get(), "fifo").containsKey(PngWriter.JDIFFUSION_KEYWORD), "a whole PNG with its record came through");
        assertTrue(attrs(fifo).isOther(), "still a FIFO");
    }

    @Test
    void aSymlinkIsRefusedAndWrittenThroughWithForce() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("link"));
        Path target = dir.resolve("elsewhere.png");
        Files.writeString(target, "keep me");
        Path link = Files.createSymbolicLink(dir.resolve("out.png"), target);
        expect(2, "symbolic link", args(txt2img(broken, link)));
        assertTrue(attrs(link).isSymbolicLink());
        assertEquals("keep me", Files.readString(target));

        ok(txt2img(HostileCli.base(), link, "--force"));
        assertTrue(attrs(link).isSymbolicLink(), "the link stays a link");
        byte[] png = Files.readAllBytes(target);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4), "the image went to the link's target");
    }

    @Test
    void aFolderIsRefusedEvenWithForce() throws Exception {
        Path folder = Files.createDirectories(tmp.resolve("folder/out.png"));
        Files.writeString(folder.resolve("keep.txt"), "k");
        expect(2, "is a folder", args(txt2img(broken, folder)));
        expect(2, "is a folder", args(txt2img(broken, folder, "--force")));
        assertEquals("k", Files.readString(folder.resolve("keep.txt")));
    }

    @Test
    void otherImageFormatsAreRefusedByName() {
        Path gif = tmp.resolve("x.gif");
        expect(2, "cannot write .gif", args(txt2img(broken, gif)));
        assertFalse(Files.exists(gif));
        expect(2, "cannot write .webp", args(txt2img(broken, tmp.resolve("x.WEBP"))));
    }

    @Test
    void theComparePageIsNotWrittenOverALinkAndIsReadableByOthers() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("compare"));
        Path store = dir.resolve("store");
        ok(txt2img(HostileCli.base(), dir.resolve("a.png"), "--runs", store.toString()));
        Path target = dir.resolve("target.html");
        Files.writeString(target, "keep");
        Path link = Files.createSymbolicLink(dir.resolve("page.html"), target);
        expect(2, "symbolic link", "runs", "compare", "--runs", store.toString(), "-o", link.toString());
        assertEquals("keep", Files.readString(target));
        ok(List.of("runs", "compare", "--runs", store.toString(), "-o", link.toString(), "--force"));
        assertTrue(Files.readString(target).contains("<html"), "written through the link with --force");

        Path page = dir.resolve("plain.html");
        ok(List.of("runs", "compare", "--runs", store.toString(), "-o", page.toString()));
        Path probe = Files.createFile(dir.resolve("probe")); // what the umask gives a new file here
        assertEquals(Files.getPosixFilePermissions(probe), Files.getPosixFilePermissions(page),
                "the page's permissions follow the umask (they were always 0600)");
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }
}
