package io.jdiffusion.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.jdiffusion.runs.RunStore;
import io.jdiffusion.tensor.testing.FileTrees;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Consumer;

import static io.jdiffusion.cli.HostileCli.expect;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Defects 2 and 4 of issue 16, and the store's housekeeping: a run record may name any file
 * ({@code /etc/passwd}, {@code /dev/zero}, {@code ../../…}, a link out of the store) or hold nulls
 * where values belong. Every such record is reported by its run id and skipped; the other runs are
 * listed, compared and verified; nothing outside the store is read.
 */
class HostileStoreTest {
    @TempDir
    static Path tmp;
    static Path pristine;
    static List<String> ids;
    static final ObjectMapper JSON = new ObjectMapper();

    /** A store with three real runs of the fixture base model. */
    @BeforeAll
    static void store() throws IOException {
        pristine = tmp.resolve("pristine");
        for (int seed = 1; seed <= 3; seed++) {
            HostileCli.ok(HostileCli.txt2img(HostileCli.base(), tmp.resolve("r" + seed + ".png"), "--runs", pristine.toString(),
                    "--seed", Integer.toString(seed)));
        }
        ids = RunStore.open(pristine).list().runs().stream().map(RunStore.Entry::id).toList();
        assertEquals(3, ids.size());
    }

    private static int copies;

    private static Path copy() throws IOException {
        return FileTrees.copy(pristine, tmp.resolve("store-" + ++copies));
    }

    private static void tamper(Path store, String id, Consumer<ObjectNode> edit) throws IOException {
        Path f = store.resolve("runs").resolve(id).resolve("run.json");
        ObjectNode run = (ObjectNode) JSON.readTree(f.toFile());
        edit.accept(run);
        Files.write(f, JSON.writeValueAsBytes(run));
    }

    private static ObjectNode output0(ObjectNode run) { return (ObjectNode) run.get("outputs").get(0); }

    /** compare --embed, verify and show on a store whose middle run is hostile: the run is named, the others go on. */
    private static void assertNamedAndSkipped(Path store, String bad, String secret) throws IOException {
        Path page = store.resolveSibling(store.getFileName() + ".html");
        CommandLineTest.Result c = expect(0, bad, "runs", "compare", "--embed", "--runs", store.toString(), "-o", page.toString());
        String html = Files.readString(page);
        for (String id : ids) assertTrue(html.contains(id), "the page names " + id);
        if (secret != null) assertFalse(html.contains(secret), "the page inlines a file from outside the store");
        CommandLineTest.Result v = expect(1, null, "runs", "verify", "--runs", store.toString());
        assertTrue(v.out().contains(bad), "verify names the run: " + v.out());
        assertTrue(v.out().lines().filter(l -> !l.endsWith("problem(s)")).allMatch(l -> l.startsWith("run " + bad)),
                "verify passes the other runs: " + v.out());
        expect(0, null, "runs", "list", "--runs", store.toString());
        assertClean(c);
    }

    private static void assertClean(CommandLineTest.Result r) { HostileCli.assertClean(r); }

    /** A slice of a file's base64 as it would appear inlined (aligned to the file's start). */
    private static String base64Of(Path p) throws IOException {
        byte[] b = Files.readAllBytes(p);
        String s = Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(b, Math.min(b.length, 48)));
        return s.substring(0, Math.min(s.length(), 60));
    }

    @Test
    void recordsNamingFilesOutsideTheStoreAreRefused() throws IOException {
        String bad = ids.get(1);
        String passwd = Files.isRegularFile(Path.of("/etc/passwd")) ? base64Of(Path.of("/etc/passwd")) : null;
        for (String hostile : List.of("/etc/passwd", "/proc/self/environ", "/dev/zero", "../../../../../../../../etc/passwd",
                "outputs/../../../../../../../../etc/passwd", "outputs/../../" + ids.get(0) + "/run.json")) {
            Path store = copy();
            tamper(store, bad, run -> output0(run).put("file", hostile));
            CommandLineTest.Result show = expect(2, bad, "runs", "show", bad, "--runs", store.toString());
            assertTrue(show.err().contains("refused") || show.err().contains("damaged"), show.err());
            assertNamedAndSkipped(store, bad, passwd);
        }
    }

    @Test
    void linksLeadingOutOfTheStoreAreNotFollowed() throws IOException {
        String bad = ids.get(1);
        String passwd = Files.isRegularFile(Path.of("/etc/passwd")) ? base64Of(Path.of("/etc/passwd")) : null;
        for (String target : List.of("/etc/passwd", "/dev/zero")) {
            Path store = copy();
            Path out = store.resolve("runs").resolve(bad).resolve("outputs/0.png");
            Files.delete(out);
            Files.createSymbolicLink(out, Path.of(target));
            Path page = store.resolveSibling(store.getFileName() + ".html");
            expect(0, null, "runs", "compare", "--embed", "--runs", store.toString(), "-o", page.toString());
            if (passwd != null) assertFalse(Files.readString(page).contains(passwd), "a linked file outside the store is not inlined");
            CommandLineTest.Result v = expect(1, null, "runs", "verify", "--runs", store.toString());
            assertTrue(v.out().contains(bad) && v.out().contains("outside the store"), v.out());
        }
    }

    @Test
    void damagedRecordsAreNamedAndSkipped() throws IOException {
        String bad = ids.get(1);
        List<Consumer<ObjectNode>> damages = List.of(
                run -> run.putNull("outputs"),
                run -> output0(run).putNull("file"),
                run -> output0(run).putNull("sha256"),
                run -> output0(run).put("width", 65536),
                run -> ((ObjectNode) run.get("prompts")).putNull("prompt"),
                run -> run.putObject("inputs").putNull("image"),
                run -> ((ObjectNode) run.get("environment")).putNull("java"),
                run -> run.putObject("weightHashes").putNull("base/unet"),
                run -> ((ObjectNode) run.get("generation")).putNull("models"),
                run -> ((ObjectNode) run.get("generation")).put("width", 65536),
                run -> run.putArray("tags").addNull());
        for (Consumer<ObjectNode> damage : damages) {
            Path store = copy();
            tamper(store, bad, damage);
            CommandLineTest.Result show = expect(2, bad, "runs", "show", bad, "--runs", store.toString());
            assertTrue(show.err().contains("damaged"), show.err());
            assertNamedAndSkipped(store, bad, null);
        }
    }

    @Test
    void anUndecodableIndexIsRebuilt() throws IOException {
        Path store = copy();
        Path index = store.resolve("index.jsonl");
        byte[] b = Files.readAllBytes(index);
        b[b.length / 2] = (byte) 0xFF; // never valid in UTF-8
        Files.write(index, b);
        CommandLineTest.Result r = expect(0, "rebuilt", "runs", "list", "--runs", store.toString());
        for (String id : ids) assertTrue(r.out().contains(id), "lists " + id + ": " + r.out());
        String text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(Files.readAllBytes(index))).toString();
        assertEquals(3, text.lines().count(), "the index was rewritten from the folders");
        expect(0, null, "runs", "verify", "--runs", store.toString());
    }

    @Test
    void staleStagingFoldersAreRemovedWhenTheStoreOpens() throws IOException {
        Path store = copy();
        Path old = Files.createDirectories(store.resolve("tmp/run-killed/outputs"));
        Files.writeString(old.resolve("0.png"), "half");
        Path recent = Files.createDirectories(store.resolve("tmp/run-writing"));
        FileTime twoDaysAgo = FileTime.from(Instant.now().minus(Duration.ofDays(2)));
        Files.setLastModifiedTime(old, twoDaysAgo);
        Files.setLastModifiedTime(old.getParent(), twoDaysAgo);
        expect(0, null, "runs", "list", "--runs", store.toString());
        assertFalse(Files.exists(store.resolve("tmp/run-killed")), "a staging folder older than a day is removed");
        assertTrue(Files.exists(recent), "a recent one (a writer may be busy) is kept");
    }

    @Test
    void runFoldersAndFilesFollowTheUmask() throws IOException {
        Path runDir = pristine.resolve("runs").resolve(ids.getFirst());
        Path probeDir = Files.createDirectory(tmp.resolve("probe-dir"));
        Path probeFile = Files.createFile(tmp.resolve("probe-file"));
        assertEquals(Files.getPosixFilePermissions(probeDir), Files.getPosixFilePermissions(runDir),
                "a run folder is as readable as any new folder (it was always 0700)");
        assertEquals(Files.getPosixFilePermissions(probeFile), Files.getPosixFilePermissions(runDir.resolve("run.json")));
        assertEquals(Files.getPosixFilePermissions(probeFile), Files.getPosixFilePermissions(pristine.resolve("index.jsonl")));
    }
}
