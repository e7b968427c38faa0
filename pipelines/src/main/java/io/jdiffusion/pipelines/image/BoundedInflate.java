package io.jdiffusion.pipelines.image;

import java.io.ByteArrayOutputStream;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Inflates the compressed text chunks of a PNG with a cap, so that a small file cannot expand
 * into gigabytes (a 3 MB PNG can hold a zTXt chunk that inflates to 3 GiB). Only the keywords we
 * read ({@link #OWN_KEYWORDS}) are inflated at all; other compressed text is skipped unread.
 */
final class BoundedInflate {
    private BoundedInflate() {}

    /** Most text one compressed chunk may inflate to (our records are a few KiB). */
    static final int MAX_CHUNK_TEXT = 1 << 20;
    /** Most inflated text per file, all chunks together. */
    static final int MAX_FILE_TEXT = 4 << 20;
    /** The keywords whose compressed text is inflated: A1111's parameters line and our record. */
    static final Set<String> OWN_KEYWORDS = Set.of(A1111Parameters.KEYWORD, PngWriter.JDIFFUSION_KEYWORD);

    /** The zlib stream {@code b[from, to)} inflated, refused once it passes {@code max} bytes. */
    static byte[] inflate(byte[] b, int from, int to, String name, String keyword, int max) {
        Inflater inf = new Inflater();
        try {
            inf.setInput(b, from, Math.max(0, to - from));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    throw new IllegalArgumentException(name + ": truncated compressed text chunk");
                }
                if (out.size() + n > max) {
                    throw new IllegalArgumentException(name + ": the compressed text chunk '" + io.jdiffusion.tensor.ErrorText.escape(keyword)
                            + "' inflates to more than " + max + " bytes (at most " + MAX_CHUNK_TEXT + " per chunk and "
                            + MAX_FILE_TEXT + " per file are read); refused");
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } catch (DataFormatException e) {
            throw new IllegalArgumentException(name + ": corrupt compressed text chunk: " + e.getMessage(), e);
        } finally {
            inf.end();
        }
    }
}
