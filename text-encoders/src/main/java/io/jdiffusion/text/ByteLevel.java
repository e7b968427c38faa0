package io.jdiffusion.text;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * GPT-2/CLIP's byte-level alphabet (spec §1.1): every byte value gets a printable character so a
 * BPE vocabulary of strings can cover arbitrary UTF-8. The printable bytes 33–126, 161–172 and
 * 174–255 stand for themselves; the other 68 bytes, in increasing order, become U+0100, U+0101, ….
 */
final class ByteLevel {
    private ByteLevel() {}

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            char c = printable ? (char) b : (char) next++;
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    /** The alphabet character of one byte. */
    static char charOf(int b) { return BYTE_TO_CHAR[b & 0xff]; }

    /** The byte an alphabet character stands for, or -1 for characters outside the alphabet. */
    static int byteOf(char c) { return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1; }

    /**
     * Token strings back to text: alphabet characters to bytes, bytes as UTF-8 with malformed
     * sequences replaced by U+FFFD (the tokenizers' {@code errors="replace"}). Characters outside
     * the alphabet (added tokens) are copied as their own UTF-8.
     */
    static String decode(CharSequence tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(tokens.length());
        for (int i = 0; i < tokens.length(); i++) {
            char c = tokens.charAt(i);
            int b = byteOf(c);
            if (b >= 0) {
                bytes.write(b);
            } else {
                bytes.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(CodingErrorAction.REPLACE)
                    .decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            throw new IllegalStateException("UTF-8 decoding with replacement cannot fail", e);
        }
    }
}
