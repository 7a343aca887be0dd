package io.aether.devices.ratelimit;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/** A nanosecond clock that moves only when told, and a retry timer that runs what is due on that clock. */
public final class ManualClock implements LongSupplier, RetryTimer {

    private record Due(long at, Runnable retry) {
    }

    private long now = 1_000_000_000L; // not 0: nothing may take the start of the clock for "never"
    private final List<Due> due = new ArrayList<>();

    @Override
    public synchronized long getAsLong() {
        return now;
    }

    @Override
    public synchronized void after(long nanos, Runnable retry) {
        due.add(new Due(now + nanos, retry));
    }

    /** Retries scheduled and not yet run. */
    public synchronized int pending() {
        return due.size();
    }

    /** When the earliest pending retry is due, in nanoseconds from now. */
    public synchronized long nextIn() {
        return due.stream().mapToLong(Due::at).min().orElseThrow() - now;
    }

    /** Moves the clock on and runs, in order, each retry that has come due (outside this clock's lock). */
    public void advance(long nanos) {
        List<Runnable> run = new ArrayList<>();
        synchronized (this) {
            now += nanos;
            due.sort((a, b) -> Long.compare(a.at(), b.at()));
            while (!due.isEmpty() && due.getFirst().at() <= now) run.add(due.removeFirst().retry());
        }
        run.forEach(Runnable::run);
    }

    /** A limiter on this clock. */
    public RateLimiter limiter(long bytesPerSecond, long bytesCapacity, long opsPerSecond, long opsCapacity) {
        return new RateLimiter(
                bytesPerSecond == 0 ? Optional.empty() : Optional.of(new RateLimiter.Limit(bytesPerSecond, bytesCapacity)),
                opsPerSecond == 0 ? Optional.empty() : Optional.of(new RateLimiter.Limit(opsPerSecond, opsCapacity)),
                this);
    }

    /** A throttle whose limiter and retries run on this clock. */
    public Throttle throttle(long bytesPerSecond, long bytesCapacity, long opsPerSecond, long opsCapacity) {
        return Throttle.of(limiter(bytesPerSecond, bytesCapacity, opsPerSecond, opsCapacity), this);
    }
}
