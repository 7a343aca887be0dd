package io.aether.devices.ratelimit;

/**
 * Runs a throttled queue again once tokens have returned: the monitor's timer, which holds
 * retries while the VM is paused, or a test's.
 */
@FunctionalInterface
public interface RetryTimer {

    /** Runs {@code retry} once, {@code nanos} from now, on a thread of the timer's. */
    void after(long nanos, Runnable retry);
}
