package io.jdiffusion.runs;

/** A run that cannot be read (missing, damaged) or a store that cannot be written; the message names the run and file. */
public class RunStoreException extends RuntimeException {
    private final String runId;

    public RunStoreException(String runId, String message, Throwable cause) {
        super(message, cause);
        this.runId = runId;
    }

    public RunStoreException(String runId, String message) { this(runId, message, null); }

    /** The run at fault, or null when the problem is the store itself. */
    public String runId() { return runId; }
}
