package io.jdiffusion.tensor.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;

/** A model folder with one damaged file, for the tests of how a broken weight file is reported. */
public final class TruncatedCopy {
    private TruncatedCopy() {}

    /** Copies {@code folder} to {@code into} and cuts the copy of {@code file} (relative) to its first {@code bytes} bytes. */
    public static Path of(Path folder, Path into, String file, int bytes) throws IOException {
        try (Stream<Path> s = Files.walk(folder)) {
            for (Path p : s.toList()) {
                Path t = into.resolve(folder.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
        Path damaged = into.resolve(file);
        Files.write(damaged, Arrays.copyOf(Files.readAllBytes(damaged), bytes));
        return into;
    }
}
