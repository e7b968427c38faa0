package io.jdiffusion.pipelines;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Weight-file hashes, computed in the background or on the caller's thread, against the JDK's SHA-256 of the bytes. */
class WeightHashesTest {
    private static String sha256Prefix(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)).substring(0, 16);
    }

    @Test
    void backgroundAndDirectHashesAreTheFileSha256(@TempDir Path dir) throws Exception {
        byte[] a = new byte[3 << 20], b = new byte[1000];
        for (int i = 0; i < a.length; i++) a[i] = (byte) (i * 31 + 7);
        for (int i = 0; i < b.length; i++) b[i] = (byte) i;
        Path fa = Files.write(dir.resolve("a.safetensors"), a), fb = Files.write(dir.resolve("b.safetensors"), b);
        WeightHashes.prefetch(fa); // in the background; of() waits for it
        assertEquals(sha256Prefix(a), WeightHashes.of(fa));
        assertEquals(sha256Prefix(b), WeightHashes.of(fb)); // never prefetched: computed on this thread
        // a changed file (other size and time) is hashed again, not taken from the cache
        byte[] a2 = a.clone();
        a2[5] ^= 1;
        Files.write(fa, java.util.Arrays.copyOf(a2, a2.length - 1));
        Files.setLastModifiedTime(fa, FileTime.fromMillis(Files.getLastModifiedTime(fa).toMillis() + 5000));
        WeightHashes.prefetch(fa);
        String changed = WeightHashes.of(fa);
        assertEquals(sha256Prefix(java.util.Arrays.copyOf(a2, a2.length - 1)), changed);
        assertNotEquals(sha256Prefix(a), changed);
    }

    @Test
    void hashesOfEarlierProcessesAreReadFromTheCacheFileAndNewOnesAppended(@TempDir Path dir) throws Exception {
        String before = System.getProperty("jdiffusion.weightHashCache");
        Path cache = dir.resolve("cache/weight-hashes.tsv");
        System.setProperty("jdiffusion.weightHashCache", cache.toString());
        WeightHashes.DiskCache.reset();
        try {
            byte[] a = new byte[5000];
            for (int i = 0; i < a.length; i++) a[i] = (byte) (i * 7);
            Path fa = Files.write(dir.resolve("a.safetensors"), a);
            assertEquals(sha256Prefix(a), WeightHashes.of(fa));
            String written = Files.readString(cache);
            assertEquals(fa.toAbsolutePath() + "|5000|" + Files.getLastModifiedTime(fa).toMillis() + "\t" + sha256Prefix(a) + "\n", written);

            // what an earlier process wrote is taken as it stands: a planted value comes back, so it was not recomputed
            Path fb = Files.write(dir.resolve("b.safetensors"), new byte[77]);
            String key = fb.toAbsolutePath() + "|77|" + Files.getLastModifiedTime(fb).toMillis();
            Files.writeString(cache, "not a line\n" + key + "\t0123456789abcdef\n", java.nio.file.StandardOpenOption.APPEND);
            WeightHashes.DiskCache.reset();
            assertEquals("0123456789abcdef", WeightHashes.of(fb));

            // a new modification time is a new key: hashed again, and appended
            Files.setLastModifiedTime(fb, FileTime.fromMillis(Files.getLastModifiedTime(fb).toMillis() + 3000));
            assertEquals(sha256Prefix(new byte[77]), WeightHashes.of(fb));
            assertEquals(4, Files.readAllLines(cache).size());

            // off: nothing read, nothing written
            System.setProperty("jdiffusion.weightHashCache", "off");
            WeightHashes.DiskCache.reset();
            Path fc = Files.write(dir.resolve("c.safetensors"), new byte[3]);
            assertEquals(sha256Prefix(new byte[3]), WeightHashes.of(fc));
            assertEquals(4, Files.readAllLines(cache).size());
        } finally {
            if (before == null) System.clearProperty("jdiffusion.weightHashCache");
            else System.setProperty("jdiffusion.weightHashCache", before);
            WeightHashes.DiskCache.reset();
        }
    }

    @Test
    void aMissingFileIsAnErrorEachTime(@TempDir Path dir) {
        Path gone = dir.resolve("gone.safetensors");
        assertThrows(UncheckedIOException.class, () -> WeightHashes.of(gone));
        assertThrows(UncheckedIOException.class, () -> WeightHashes.of(gone));
    }
}
