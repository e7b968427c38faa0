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
    void aMissingFileIsAnErrorEachTime(@TempDir Path dir) {
        Path gone = dir.resolve("gone.safetensors");
        assertThrows(UncheckedIOException.class, () -> WeightHashes.of(gone));
        assertThrows(UncheckedIOException.class, () -> WeightHashes.of(gone));
    }
}
