package io.jdiffusion.tensor;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ErrorTextTest {
    @Test
    void controlCharactersAreEscapedAndTheRestKept() {
        assertEquals("a\\u001b[31mb\\u000dc\\u000ad\\u0085é☃", ErrorText.escape("a\u001b[31mb\rc\nd\u0085é☃"));
        assertEquals("plain", ErrorText.escape("plain"));
        assertEquals("null", ErrorText.escape(null));
        assertEquals("line 1\nline \\u001b2", ErrorText.escapeKeepingLines("line 1\nline \u001b2"));
    }

    @Test
    void listsAreCutAfterTwentyItems() {
        List<String> items = new ArrayList<>();
        for (int i = 0; i < 25; i++) items.add("k" + i);
        String s = ErrorText.list(items, ", ");
        assertEquals(String.join(", ", items.subList(0, 20)) + ", and 5 more", s);
        assertEquals("k0, k1", ErrorText.list(items.subList(0, 2), ", "));
        assertEquals("x\\u000ay", ErrorText.list(List.of("x\ny"), "\n"));
    }
}
