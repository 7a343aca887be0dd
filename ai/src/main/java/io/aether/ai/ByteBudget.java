package io.aether.ai;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The bytes of requests a server holds at once, across all its requests. Parsers take bytes
 * from a request's {@link Lease} before they allocate a buffer; the lease gives them all back
 * when the request is answered. A request that would go over the budget waits up to
 * {@code wait} for others to give bytes back and is then refused ({@link Refused}); one that
 * needs more than the whole budget is refused at once.
 *
 * <p>Requests that already hold bytes go first: a new request waits while one of them waits.
 * And when every request holding bytes would wait for the others, none of them could finish:
 * the last one to come to wait is refused at once instead, and what it gives back lets the
 * others go on.
 */
final class ByteBudget {

    /** A budget nothing can exhaust, for parsing outside a server (tests, tools, fuzzing). */
    static final ByteBudget UNLIMITED = new ByteBudget(Long.MAX_VALUE, Duration.ZERO);

    private final long capacity;
    private final long waitNanos;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    // All guarded by lock.
    private long used;
    private long peak;
    private long refusals;
    /** Leases holding bytes, and how many of them wait for more. */
    private int holders;
    private int waitingHolders;

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
        return read(() -> used);
    }

    /** The most bytes ever taken at once. */
    long peak() {
        return read(() -> peak);
    }

    /** Takes that were refused, waiting or not. */
    long refusals() {
        return read(() -> refusals);
    }

    /** Requests holding bytes that wait for more, for tests. */
    long waitingHolders() {
        return read(() -> waitingHolders);
    }

    private long read(LongSupplier field) {
        lock.lock();
        try {
            return field.getAsLong();
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
     * whole budget (waiting cannot help), else the budget was busy.
     */
    static final class Refused extends RuntimeException {
        final boolean never;

        Refused(boolean never, String message) {
            super(message, null, false, false);
            this.never = never;
        }
    }

    /**
     * The bytes one request holds; used by one thread at a time. A request may first
     * {@link #reserve} what it expects to need, in one step: its buffers are then drawn from
     * that, and the budget is asked again only for more.
     */
    final class Lease implements AutoCloseable {
        /** Bytes taken from the budget. */
        private long held;
        /** Bytes of buffers allocated against them; at most {@link #held}. */
        private long inUse;

        private Lease() {
        }

        /** Takes {@code bytes} from the budget ahead of allocations; waits if others hold too much. */
        void reserve(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("negative reservation: " + bytes);
            }
            fromBudget(bytes);
        }

        /** Accounts for a buffer of {@code bytes} about to be allocated: from the reservation, else the budget. */
        void take(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("negative take: " + bytes);
            }
            fromBudget(Math.max(0, inUse + bytes - held));
            inUse += bytes;
        }

        /** A buffer of {@code bytes} is dropped (replaced by a larger or a trimmed one); the bytes stay reserved. */
        void give(long bytes) {
            if (bytes < 0 || bytes > inUse) {
                throw new IllegalArgumentException("giving back " + bytes + " of " + inUse + " bytes in use");
            }
            inUse -= bytes;
        }

        /** Gives back the reserved bytes no buffer uses. */
        void settle() {
            giveBack(held - inUse);
        }

        /** Gives back everything; the lease may be used again afterwards. */
        @Override
        public void close() {
            inUse = 0;
            giveBack(held);
        }

        long held() {
            return held;
        }

        long inUse() {
            return inUse;
        }

        private void fromBudget(long bytes) {
            if (bytes > capacity - held) {
                refuse(true, "request needs more than the server's in-flight budget of " + capacity + " bytes");
            }
            if (bytes == 0) {
                return;
            }
            long deadline = System.nanoTime() + waitNanos;
            boolean holder = held > 0;
            lock.lock();
            try {
                while (bytes > capacity - used || (!holder && waitingHolders > 0)) {
                    if (holder && waitingHolders + 1 == holders) {
                        refuse(false, "every request in flight waits for another's bytes; try again later");
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        refuse(false, "the server holds " + used + " of its " + capacity
                                + " bytes of requests in flight; try again later");
                    }
                    if (holder) {
                        waitingHolders++;
                    }
                    try {
                        released.awaitNanos(left);
                    } finally {
                        if (holder) {
                            waitingHolders--;
                        }
                    }
                }
                if (!holder) {
                    holders++;
                }
                used += bytes;
                peak = Math.max(peak, used);
                held += bytes;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                refuse(false, "interrupted while waiting for the in-flight budget");
            } finally {
                lock.unlock();
            }
        }

        private void giveBack(long bytes) {
            if (bytes == 0) {
                return;
            }
            lock.lock();
            try {
                held -= bytes;
                used -= bytes;
                if (held == 0) {
                    holders--;
                }
                released.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    private void refuse(boolean never, String message) {
        lock.lock();
        try {
            refusals++;
        } finally {
            lock.unlock();
        }
        throw new Refused(never, message);
    }
}
