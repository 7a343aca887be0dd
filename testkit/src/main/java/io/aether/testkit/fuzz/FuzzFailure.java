package io.aether.testkit.fuzz;

/** A fuzz target failed (threw, or ran too long) on an input; the message shows the input and where it was saved. */
public final class FuzzFailure extends AssertionError {

    private final transient byte[] input;
    private final long executions;
    private final long millis;

    FuzzFailure(String message, Throwable cause, byte[] input, long executions, long millis) {
        super(message, cause);
        this.input = input.clone();
        this.executions = executions;
        this.millis = millis;
    }

    /** The failing input (minimized when it was found by fuzzing). */
    public byte[] input() {
        return input.clone();
    }

    /** Executions of the target, replayed inputs included, until the failure. */
    public long executions() {
        return executions;
    }

    /** Milliseconds from the start of the run until the failure. */
    public long millis() {
        return millis;
    }
}
