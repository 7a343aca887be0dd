package io.aether.devices.ratelimit;

import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * A bytes bucket and an operations bucket (either may be absent) that a request must both pass:
 * the token-bucket rate limiting Firecracker's devices do, for a disk's IOPS and bandwidth or a
 * NIC's frames and bytes in one direction. Thread-safe; the clock is injected for tests.
 */
public final class RateLimiter {

    /** A bucket: {@code perSecond} tokens a second, at most {@code capacity} saved up. */
    public record Limit(long perSecond, long capacity) {
        public Limit {
            if (perSecond < 1) throw new IllegalArgumentException("rate must be at least 1 a second, got " + perSecond);
            if (capacity < 1) throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
        }
    }

    private final TokenBucket bytes;
    private final TokenBucket ops;
    private final LongSupplier nanoClock;
    private long throttled;

    /** @param nanoClock monotonic nanoseconds ({@code System::nanoTime}) */
    public RateLimiter(Optional<Limit> bytes, Optional<Limit> ops, LongSupplier nanoClock) {
        this.nanoClock = Objects.requireNonNull(nanoClock, "nanoClock");
        if (bytes.isEmpty() && ops.isEmpty()) throw new IllegalArgumentException("a rate limiter needs a bytes or an operations limit");
        long now = nanoClock.getAsLong();
        this.bytes = bytes.map(l -> new TokenBucket(l.perSecond(), l.capacity(), now)).orElse(null);
        this.ops = ops.map(l -> new TokenBucket(l.perSecond(), l.capacity(), now)).orElse(null);
    }

    /**
     * Takes the tokens of a request of {@code byteCount} bytes and {@code opCount} operations if
     * both buckets allow it now; otherwise takes nothing and counts the request as throttled.
     */
    public synchronized boolean tryTake(long byteCount, long opCount) {
        long now = nanoClock.getAsLong();
        if ((bytes != null && !bytes.allows(byteCount, now)) || (ops != null && !ops.allows(opCount, now))) {
            throttled++;
            return false;
        }
        charge(byteCount, opCount);
        return true;
    }

    /** Takes tokens without asking (what a request admitted before its size was known turned out to cost). */
    public synchronized void charge(long byteCount, long opCount) {
        if (bytes != null) bytes.take(byteCount);
        if (ops != null) ops.take(opCount);
    }

    /** Nanoseconds until {@link #tryTake} of this request would pass, 0 if it would now. */
    public synchronized long nanosUntilAllowed(long byteCount, long opCount) {
        long now = nanoClock.getAsLong();
        return Math.max(bytes == null ? 0 : bytes.nanosUntil(byteCount, now), ops == null ? 0 : ops.nanosUntil(opCount, now));
    }

    /** Requests held back so far (each time one was refused, retries included). */
    public synchronized long throttled() {
        return throttled;
    }
}
