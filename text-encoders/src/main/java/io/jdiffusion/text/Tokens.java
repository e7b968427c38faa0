package io.jdiffusion.text;

import java.util.Arrays;

/**
 * One tokenised prompt: {@code ids} framed as {@code [BOS] content [EOS]} and padded (when asked)
 * to the requested length; {@code droppedIds}/{@code droppedText} are the content tokens that
 * truncation cut off (empty when nothing was cut), so a caller can show the user what the model
 * will not see.
 */
public record Tokens(int[] ids, int[] droppedIds, String droppedText) {
    public Tokens {
        ids = ids.clone();
        droppedIds = droppedIds.clone();
    }

    @Override public int[] ids() { return ids.clone(); }

    @Override public int[] droppedIds() { return droppedIds.clone(); }

    public int length() { return ids.length; }

    public boolean truncated() { return droppedIds.length > 0; }

    @Override
    public boolean equals(Object o) {
        return o instanceof Tokens t && Arrays.equals(ids, t.ids) && Arrays.equals(droppedIds, t.droppedIds)
                && droppedText.equals(t.droppedText);
    }

    @Override
    public int hashCode() { return 31 * Arrays.hashCode(ids) + Arrays.hashCode(droppedIds); }

    @Override
    public String toString() {
        return "Tokens" + Arrays.toString(ids) + (truncated() ? " (dropped: \"" + droppedText + "\")" : "");
    }
}
