package io.jdiffusion.runs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads the store's index.jsonl. The index is a cache of the run folders: when it cannot be read
 * as text (a damaged byte, a file far too large) it is rebuilt from the folders instead of stopping
 * every listing, and the rebuild is reported as a problem.
 */
final class IndexFile {
    private IndexFile() {}

    /** Largest index read: about a million runs. */
    static final long MAX_INDEX_BYTES = 512L << 20;

    /** The lines of the index; on a decode error the index is rebuilt (reported in {@code problems}) and read again. */
    static List<String> readLines(RunStore store, Path index, List<String> problems) {
        try {
            return decode(index);
        } catch (IOException e) {
            problems.add(index.getFileName() + " is unreadable (" + StoreFiles.show(e.getMessage()) + "); rebuilt from the run folders");
        }
        store.reindex();
        try {
            return decode(index);
        } catch (IOException e) {
            return List.of(); // every run is still listed from its folder
        }
    }

    private static List<String> decode(Path index) throws IOException {
        byte[] bytes = StoreFiles.read(index.getParent(), index, MAX_INDEX_BYTES);
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
            return text.lines().toList();
        } catch (CharacterCodingException e) {
            throw new IOException("not valid UTF-8: " + e.getMessage(), e);
        }
    }
}
