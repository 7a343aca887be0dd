package io.aether.agentapi;

/**
 * The body of {@code POST /v1/vms/{id}/stop}.
 *
 * @param graceful ask the guest to shut down first (absent: true); a monitor that cannot (or a
 *     guest that has not ended after {@code timeoutMillis}) is stopped by force
 * @param timeoutMillis how long a graceful stop may take (absent: {@link #DEFAULT_TIMEOUT_MILLIS})
 */
public record StopVm(Boolean graceful, Long timeoutMillis) {

    public static final long DEFAULT_TIMEOUT_MILLIS = 10_000;
    public static final long MAX_TIMEOUT_MILLIS = 600_000;

    public StopVm {
        graceful = graceful == null || graceful;
        timeoutMillis = timeoutMillis == null ? DEFAULT_TIMEOUT_MILLIS : timeoutMillis;
        if (timeoutMillis < 0 || timeoutMillis > MAX_TIMEOUT_MILLIS) {
            throw new IllegalArgumentException("timeoutMillis: " + timeoutMillis + " is out of range (0 to " + MAX_TIMEOUT_MILLIS + ")");
        }
    }

    /** A stop at once, without asking the guest. */
    public static StopVm forced() {
        return new StopVm(false, 0L);
    }
}
