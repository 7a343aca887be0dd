package io.aether.devices.ratelimit;

/**
 * One token bucket: refills at {@code perSecond} tokens a second up to {@code capacity}. Tokens
 * are doubles: rates reach 2^40 a second and a refill is nanoseconds times rate, which a long
 * would overflow; a double's 53 bits keep well under one token of error at these sizes, and
 * whole rates and times give exact results where they can be exact.
 */
final class TokenBucket {

    private final double perSecond;
    private final double capacity;
    private double tokens;
    private long last;

    TokenBucket(long perSecond, long capacity, long now) {
        if (perSecond < 1) throw new IllegalArgumentException("a bucket's rate must be at least 1 a second, got " + perSecond);
        if (capacity < 1) throw new IllegalArgumentException("a bucket's capacity must be at least 1, got " + capacity);
        this.perSecond = perSecond;
        this.capacity = capacity;
        this.tokens = capacity; // an idle device may burst at once
        this.last = now;
    }

    private void refill(long now) {
        if (now > last) {
            tokens = Math.min(capacity, tokens + (now - last) * perSecond / 1e9);
            last = now;
        }
    }

    /**
     * Whether {@code cost} may go now: the bucket holds that much, or, for a cost larger than the
     * whole bucket, the bucket is full (it then goes into debt, so a large request is slowed, not refused).
     */
    boolean allows(long cost, long now) {
        refill(now);
        return tokens >= Math.min(cost, capacity);
    }

    void take(long cost) {
        tokens -= cost;
    }

    /** Nanoseconds from {@code now} until {@link #allows} would be true for {@code cost}; at least 1 while it is false. */
    long nanosUntil(long cost, long now) {
        refill(now);
        double missing = Math.min(cost, capacity) - tokens;
        return missing <= 0 ? 0 : Math.max(1, (long) Math.ceil(missing * 1e9 / perSecond));
    }
}
