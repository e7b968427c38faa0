package io.jdiffusion.pipelines;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hugging Face ids resolve in the local hub cache the way huggingface_hub lays it out. */
class ModelLocatorTest {
    @TempDir
    Path hub;

    @Test
    void idResolvesToTheSnapshotNamedByRefsMain() throws Exception {
        Path repo = hub.resolve("models--stabilityai--stable-diffusion-xl-base-1.0");
        Files.createDirectories(repo.resolve("snapshots/aaa111"));
        Files.createDirectories(repo.resolve("snapshots/bbb222"));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), "aaa111\n");
        assertEquals(repo.resolve("snapshots/aaa111"), ModelLocator.resolve("stabilityai/stable-diffusion-xl-base-1.0", hub));
    }

    @Test
    void withoutRefsTheOnlySnapshotIsUsed() throws Exception {
        Path snap = Files.createDirectories(hub.resolve("models--org--model/snapshots/ccc333"));
        assertEquals(snap, ModelLocator.resolve("org/model", hub));
    }

    @Test
    void missingModelsSayWhereTheyWereLookedFor() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelLocator.resolve("org/absent", hub));
        assertTrue(e.getMessage().contains("models--org--absent"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ModelLocator.resolve("no/such/folder/at/all", hub));
        assertTrue(e.getMessage().contains("no such file or folder"), e.getMessage());
    }

    @Test
    void anExistingPathIsTakenAsIs() {
        assertEquals(hub.toAbsolutePath().normalize(), ModelLocator.resolve(hub.toString(), hub));
    }
}
