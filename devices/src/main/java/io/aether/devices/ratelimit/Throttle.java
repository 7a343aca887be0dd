package io.aether.devices.ratelimit;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A device queue's rate limiter with its way back: a request over the budget is left in the
 * queue and the queue is retried when tokens return (one retry pending at a time), so the device
 * never busy-waits and the guest sees throttling, never an error.
 */
public final class Throttle {

    /** Never holds a request back. */
    public static final Throttle NONE = new Throttle(null, null);

    private final RateLimiter limiter;
    private final RetryTimer timer;
    private final AtomicBoolean retryPending = new AtomicBoolean();

    private Throttle(RateLimiter limiter, RetryTimer timer) {
        this.limiter = limiter;
        this.timer = timer;
    }

    public static Throttle of(RateLimiter limiter, RetryTimer timer) {
        return new Throttle(Objects.requireNonNull(limiter, "limiter"), Objects.requireNonNull(timer, "timer"));
    }

    /**
     * Whether a request of {@code bytes} and {@code ops} may go now (its tokens are then taken).
     * If not, {@code retry} (which serves the queue again) is scheduled for when it could, unless
     * a retry is already pending.
     */
    public boolean admit(long bytes, long ops, Runnable retry) {
        if (limiter == null || limiter.tryTake(bytes, ops)) return true;
        if (retryPending.compareAndSet(false, true)) {
            timer.after(limiter.nanosUntilAllowed(bytes, ops), () -> {
                retryPending.set(false);
                retry.run();
            });
        }
        return false;
    }

    /** Takes tokens for what an admitted request turned out to cost ({@link RateLimiter#charge}). */
    public void charge(long bytes, long ops) {
        if (limiter != null) limiter.charge(bytes, ops);
    }

    /** Requests held back so far. */
    public long throttled() {
        return limiter == null ? 0 : limiter.throttled();
    }
}
