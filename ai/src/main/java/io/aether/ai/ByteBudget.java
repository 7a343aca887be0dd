package io.aether.ai;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The bytes of request tensors a server holds at once, across all its requests. Parsers take
 * bytes from a request's {@link Lease} before they allocate a buffer; the lease gives them all
 * back when the request is answered. A request that would go over the budget waits up to
 * {@code wait} for others to give bytes back and is then refused ({@link Refused}); one that
 * needs more than the whole budget is refused at once.
 */
final class ByteBudget {

    /** A budget nothing can exhaust, for parsing outside a server (tests, tools, fuzzing). */
    static final ByteBudget UNLIMITED = new ByteBudget(Long.MAX_VALUE, Duration.ZERO);

    private final long capacity;
    private final long waitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private long used;
    private long peak;
    private long refusals;

    ByteBudget(long capacity, Duration wait) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("budget must be positive, got " + capacity);
        }
        this.capacity = capacity;
        this.waitNanos = wait.toNanos();
    }

    long capacity() {
        return capacity;
    }

    /** Bytes taken now by all leases. */
    long used() {
        lock.lock();
        try {
            return used;
        } finally {
            lock.unlock();
        }
    }

    /** The most bytes ever taken at once. */
    long peak() {
        lock.lock();
        try {
            return peak;
        } finally {
            lock.unlock();
        }
    }

    /** Takes that were refused, waiting or not. */
    long refusals() {
        lock.lock();
        try {
            return refusals;
        } finally {
            lock.unlock();
        }
    }

    /** A new, empty lease for one request. */
    Lease lease() {
        return new Lease();
    }

    /**
     * A take that could not be served; {@link #never} when the request needs more than the
     * whole budget (waiting cannot help), else the budget was busy for the whole wait.
     */
    static final class Refused extends RuntimeException {
        final boolean never;

        Refused(boolean never, String message) {
            super(message, null, false, false);
            this.never = never;
        }
    }

    /** The bytes one request holds; used by one thread at a time. */
    final class Lease implements AutoCloseable {
        private long held;

        private Lease() {
        }

        /** Takes {@code bytes} before they are allocated; waits if others hold too much. */
        void take(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("negative take: " + bytes);
            }
            if (bytes > capacity - held) {
                countRefusal();
                throw new Refused(true, "request needs more than the server's in-flight budget of " + capacity
                        + " bytes of tensors");
            }
            long deadline = System.nanoTime() + waitNanos;
            lock.lock();
            try {
                while (bytes > capacity - used) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        refusals++;
                        throw new Refused(false, "the server holds " + used + " of its " + capacity
                                + " bytes of in-flight tensors; try again later");
                    }
                    released.awaitNanos(left);
                }
                used += bytes;
                peak = Math.max(peak, used);
                held += bytes;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                refusals++;
                throw new Refused(false, "interrupted while waiting for the in-flight budget");
            } finally {
                lock.unlock();
            }
        }

        /** Gives back part of what was taken (a buffer replaced by a larger or a trimmed one). */
        void give(long bytes) {
            if (bytes < 0 || bytes > held) {
                throw new IllegalArgumentException("giving back " + bytes + " of " + held + " bytes held");
            }
            held -= bytes;
            release(bytes);
        }

        long held() {
            return held;
        }

        /** Gives back everything; the lease may be used again afterwards. */
        @Override
        public void close() {
            long all = held;
            held = 0;
            release(all);
        }
    }

    private void countRefusal() {
        lock.lock();
        try {
            refusals++;
        } finally {
            lock.unlock();
        }
    }

    private void release(long bytes) {
        if (bytes == 0) {
            return;
        }
        lock.lock();
        try {
            used -= bytes;
            released.signalAll();
        } finally {
            lock.unlock();
        }
    }
}
