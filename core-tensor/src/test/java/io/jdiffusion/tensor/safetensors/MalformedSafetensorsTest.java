package io.jdiffusion.tensor.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Hand-made broken files: each one must fail with a {@link SafetensorsException} whose message
 * names the problem (and the tensor, where there is one), never with another exception.
 */
class MalformedSafetensorsTest {
    @TempDir
    Path dir;

    private int counter;

    /** A file: 8-byte little-endian {@code headerLen}, then {@code header}, then {@code dataBytes} zero bytes. */
    private Path file(long headerLen, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(headerLen).put(header);
        Path p = dir.resolve("bad" + (counter++) + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private Path file(String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return file(h.length, h, dataBytes);
    }

    private static SafetensorsException fails(Path p, String... fragments) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                fail("opened " + f);
            }
        });
        for (String frag : fragments) {
            assertTrue(e.getMessage().contains(frag), "message '" + e.getMessage() + "' lacks '" + frag + "'");
        }
        assertTrue(e.getMessage().contains(p.toString()), "message names the file: " + e.getMessage());
        return e;
    }

    private static void failsFor(Path p, String tensor, String... fragments) {
        SafetensorsException e = fails(p, fragments);
        assertEquals(tensor, e.tensor(), "tensor named by " + e.getMessage());
        assertTrue(e.getMessage().contains("'" + tensor + "'"), e.getMessage());
    }

    private static String entry(String name, String body) { return "{\"" + name + "\":{" + body + "}}"; }

    @Test
    void tooShortFiles() throws IOException {
        Path empty = dir.resolve("empty.safetensors");
        Files.write(empty, new byte[0]);
        fails(empty, "0 bytes", "shorter than the 8-byte header length");
        Path five = dir.resolve("five.safetensors");
        Files.write(five, new byte[] {1, 2, 3, 4, 5});
        fails(five, "5 bytes", "shorter than the 8-byte");
    }

    @Test
    void headerLengths() throws IOException {
        fails(file(1000, "{}".getBytes(StandardCharsets.US_ASCII), 0), "header length 1000 runs past the end of the 10-byte file");
        // 2^63 + 5: negative as a signed long, must be reported as the unsigned value, not allocated
        fails(file(Long.MIN_VALUE + 5, "{}".getBytes(StandardCharsets.US_ASCII), 0), "header length 9223372036854775813 is outside");
        fails(file(-1L, new byte[0], 0), "header length 18446744073709551615 is outside");
        fails(file(1L << 40, "{}".getBytes(StandardCharsets.US_ASCII), 0), "header length 1099511627776 is outside [2, ");
        fails(file(0, new byte[0], 16), "header length 0 is outside");
        fails(file(1, "{".getBytes(StandardCharsets.US_ASCII), 0), "header length 1 is outside");
    }

    @Test
    void notJson() throws IOException {
        fails(file("hello world", 0), "header is not a JSON object", "hello world");
        fails(file("{not json}", 0), "not well-formed JSON");
        fails(file("{\"a\":", 0), "not well-formed JSON");
        fails(file("[1, 2, 3]", 0), "header is not a JSON object");
        fails(file("\"just a string\"", 0), "header is not a JSON object");
        fails(file("{} {}", 0), "not well-formed JSON", "after the closing brace");
        fails(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[NaN],\"data_offsets\":[0,4]}}", 4), "not well-formed JSON");
        // nesting far deeper than any header: refused by the parser's limits, as a SafetensorsException
        fails(file("{\"x\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0), "not well-formed JSON");
    }

    @Test
    void invalidUtf8() throws IOException {
        byte[] h = "{\"ab\":{}}".getBytes(StandardCharsets.US_ASCII);
        h[2] = (byte) 0xff;
        h[3] = (byte) 0xfe;
        fails(file(h.length, h, 0), "not valid UTF-8");
        byte[] overlong = {'{', '"', (byte) 0xC0, (byte) 0xAF, '"', ':', '1', '}'}; // overlong encoding of '/'
        fails(file(overlong.length, overlong, 0), "not valid UTF-8");
    }

    @Test
    void duplicates() throws IOException {
        String t = "\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        failsFor(file("{" + t + "," + t + "}", 4), "t", "duplicate name in the header");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]"), 4), "w",
                "duplicate key 'dtype' in the entry");
        failsFor(file("{\"__metadata__\":{},\"__metadata__\":{}}", 0), "__metadata__", "duplicate name");
        fails(file("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0), "duplicate key 'k'");
    }

    @Test
    void dtypeProblems() throws IOException {
        failsFor(file(entry("w", "\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]"), 4), "w", "unknown or unsupported dtype 'F99'");
        failsFor(file(entry("w", "\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,1]"), 1), "w", "unsupported dtype 'F4'");
        failsFor(file(entry("w", "\"shape\":[1],\"data_offsets\":[0,4]"), 4), "w", "missing dtype");
        failsFor(file(entry("w", "\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]"), 4), "w", "dtype is not a string");
    }

    @Test
    void shapeProblems() throws IOException {
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"data_offsets\":[0,4]"), 4), "w", "missing shape");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]"), 4), "w", "shape is not an array");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]"), 4), "w", "shape dimension 0 is -1, outside [0, 2^31)");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[2,3000000000],\"data_offsets\":[0,4]"), 4), "w",
                "shape dimension 1 is 3000000000, outside");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]"), 4), "w", "shape dimension 0 is 2.5, not an integer");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[\"4\"],\"data_offsets\":[0,16]"), 16), "w", "not an integer");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,16]"), 16), "w", "not an integer");
        // 5 dimensions of 2^31-1: the element count overflows 64 bits and must not wrap into a small number
        String big = "2147483647,".repeat(4) + "2147483647";
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[" + big + "],\"data_offsets\":[0,4]"), 4), "w", "overflows");
        // 2^31-1 squared times 2^31-1 fits 63 bits as elements but not as bytes of F64
        failsFor(file(entry("w", "\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,4],\"data_offsets\":[0,8]"), 8), "w", "overflows");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[" + "1,".repeat(16) + "1],\"data_offsets\":[0,4]"), 4), "w",
                "shape has 17 dimensions (at most 16)");
    }

    @Test
    void offsetProblems() throws IOException {
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1]"), 4), "w", "missing data_offsets");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]"), 4), "w", "not a [begin, end] pair");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"a\":1}"), 4), "w", "not a [begin, end] pair");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]"), 4), "w", "not non-negative");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,100000000000000000000000]"), 4), "w",
                "not non-negative 64-bit integers");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0.5,4]"), 4), "w", "not non-negative");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]"), 8), "w", "begin 8 > end 4");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]"), 4), "w",
                "run past the end of the 4-byte data area");
        failsFor(file(entry("w", "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]"), 8), "w",
                "wrong byte length", "hold 4 bytes", "needs 8");
        failsFor(file(entry("w", "\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]"), 16), "w", "wrong byte length");
        // overlapping ranges: "b" [4, 12) shares bytes with "a" [0, 8)
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12), "overlap", "'a'", "'b'");
        // a small tensor inside a large one, not adjacent in offset order to the large one's end
        fails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 32), "overlap");
    }

    @Test
    void truncatedData() throws IOException {
        String h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[0,64]}}";
        Path ok = file(h, 64);
        try (SafetensorsFile f = SafetensorsFile.open(ok)) {
            assertEquals(16, f.floats("a").length);
        }
        byte[] all = Files.readAllBytes(ok);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length - 10));
        SafetensorsException e = fails(cut, "run past the end", "truncated");
        assertEquals("a", e.tensor());
        Files.write(cut, java.util.Arrays.copyOf(all, 8 + h.length() / 2)); // cut inside the header
        fails(cut, "runs past the end");
    }

    @Test
    void metadataAndEntryShapes() throws IOException {
        fails(file("{\"__metadata__\":{\"format\":\"pt\",\"step\":5}}", 0), "__metadata__ value of 'step' is not a string");
        fails(file("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", 0), "__metadata__ value of 'a' is not a string");
        fails(file("{\"__metadata__\":[\"pt\"]}", 0), "__metadata__ is not an object");
        fails(file("{\"__metadata__\":null}", 0), "__metadata__ is not an object", "null");
        failsFor(file("{\"w\":[1,2,3]}", 0), "w", "entry is not an object");
        failsFor(file("{\"w\":\"F32\"}", 0), "w", "entry is not an object");
        failsFor(file("{\"w\":null}", 0), "w", "entry is not an object");
    }

    @Test
    void unreadablePaths() {
        fails(dir.resolve("does-not-exist.safetensors"), "cannot be read");
        fails(dir, "cannot be read");
    }

    /** Valid files still open: empty tensors, a scalar, padding, gaps between tensors. */
    @Test
    void edgeCasesThatAreValid() throws IOException {
        String h = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[0,0]},"
                + "\"huge_but_empty\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647,0],\"data_offsets\":[4,4]},"
                + "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                + "\"after_gap\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[8,12]}}      ";
        Path p = file(h, 12);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            assertEquals(List.of("empty", "huge_but_empty", "scalar", "after_gap"), f.names());
            assertEquals("pt", f.metadata().get("format"));
            assertEquals(0, f.floats("empty").length);
            assertEquals(1, f.floats("scalar").length);
            assertEquals(0, f.tensor("scalar").rank());
            var e = assertThrows(SafetensorsException.class, () -> f.info("nope"));
            assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains("no such tensor"), e.getMessage());
            var e2 = assertThrows(SafetensorsException.class, () -> f.tensor("after_gap"));
            assertTrue(e2.getMessage().contains("I16") && e2.getMessage().contains("not a floating"), e2.getMessage());
        }
    }

    /**
     * Random damage to a valid file (flipped bytes in the header and the length, truncation):
     * every outcome is either a successful open or a SafetensorsException.
     */
    @Test
    void randomCorruptionOnlyEverRaisesSafetensorsException() throws IOException {
        Path good = dir.resolve("good.safetensors");
        new SafetensorsWriter().metadata("format", "pt")
                .addF32("alpha", new float[] {1, 2, 3, 4, 5, 6}, 2, 3)
                .add("beta", io.jdiffusion.tensor.DType.F16, new float[] {1, 2, 3, 4}, 4)
                .addI64("gamma", new long[] {7, 8}, 2)
                .write(good);
        byte[] base = Files.readAllBytes(good);
        long headerLen = ByteBuffer.wrap(base).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Random rnd = new Random(1234);
        Path p = dir.resolve("fuzz.safetensors");
        int opened = 0, rejected = 0;
        for (int trial = 0; trial < 400; trial++) {
            byte[] b = base.clone();
            int kind = trial % 3;
            if (kind == 0) {
                int flips = 1 + rnd.nextInt(3);
                for (int i = 0; i < flips; i++) b[8 + rnd.nextInt((int) headerLen)] = (byte) (32 + rnd.nextInt(95));
            } else if (kind == 1) {
                b[rnd.nextInt(8)] = (byte) rnd.nextInt(256);
            } else {
                b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            Files.write(p, b);
            try (SafetensorsFile f = SafetensorsFile.open(p)) {
                for (String n : f.names()) f.floats(n);
                opened++;
            } catch (SafetensorsException e) {
                rejected++;
            } catch (RuntimeException | Error e) {
                throw new AssertionError("trial " + trial + ": " + e + " instead of SafetensorsException", e);
            }
        }
        assertTrue(rejected > 150, "most damaged files are rejected: " + rejected + " rejected, " + opened + " opened");
    }

    /** Counts the distinct malformed files above so the suite's claim stays checked. */
    @Test
    void atLeastTwentyDistinctMalformedFiles() throws Exception {
        List<String> ran = new ArrayList<>();
        for (var m : getClass().getDeclaredMethods()) {
            if (m.isAnnotationPresent(Test.class) && !m.getName().equals("atLeastTwentyDistinctMalformedFiles")
                    && !m.getName().startsWith("random") && !m.getName().startsWith("edge")) {
                ran.add(m.getName());
                m.invoke(this);
            }
        }
        assertTrue(counter >= 20, counter + " generated malformed files in " + ran);
    }
}
