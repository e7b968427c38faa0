package io.jdiffusion.runs;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What the user said about a run after it ran: a star (the image they chose) and a free-text note.
 * Kept in {@code runs/<id>/notes.json}, next to the run's record and apart from it: {@code run.json}
 * stays what the generation wrote (reproduce reads it), while this file is replaced, atomically, each
 * time the user stars or notes the run ({@link RunStore#annotate}).
 *
 * @param starred whether the run is starred
 * @param note    the user's note ("" when none)
 * @param updated when it was last changed (ISO-8601 UTC), null when never
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunNotes(boolean starred, String note, String updated) {
    /** A run nobody has starred or noted. */
    public static final RunNotes NONE = new RunNotes(false, "", null);

    /** Longest note kept (characters): a note is a sentence or a paragraph, not a document. */
    public static final int MAX_NOTE_CHARS = 4000;

    public RunNotes {
        if (note == null) note = "";
    }

    /** The note checked as the user typed it: at most {@link #MAX_NOTE_CHARS}, no control characters but line breaks and tabs. */
    static String checkNote(String note) {
        if (note == null) return "";
        String n = note.strip();
        if (n.length() > MAX_NOTE_CHARS) {
            throw new IllegalArgumentException("note: " + n.length() + " characters, at most " + MAX_NOTE_CHARS + " allowed");
        }
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            if (Character.isISOControl(c) && c != '\n' && c != '\t') {
                throw new IllegalArgumentException("note: control character U+" + String.format("%04X", (int) c)
                        + " at position " + (i + 1) + "; use plain text (line breaks and tabs are kept)");
            }
        }
        return n;
    }
}
