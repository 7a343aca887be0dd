package io.aether.common;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Closes a connection whose request overran its deadline, so that the read or write blocked on
 * it ends: one daemon thread per process watches every armed deadline. A client's request used to
 * start a thread of its own that slept until the deadline and was interrupted (and joined) when
 * the answer came: two wake-ups of another core on every request's path, tenths of a millisecond
 * each on a busy or virtualised host. Arming and disarming here wake nothing: the watchdog looks
 * at its deadlines at least every {@link #TICK}, sooner when it knows of an earlier one, and is
 * woken only when a deadline comes before its planned wake-up or when it had gone idle.
 * A deadline fires at most one tick late (when it is armed while the watchdog plans its next
 * wake-up).
 */
public final class Watchdog {

    /** The longest the watchdog sleeps while a deadline is armed. */
    static final long TICK = TimeUnit.MILLISECONDS.toNanos(100);
    /** With nothing armed this long, the watchdog parks until the next arm. */
    static final long IDLE = TimeUnit.SECONDS.toNanos(2);
    private static final long IDLE_PARKED = Long.MAX_VALUE;

    private static final Set<Armed> ARMED = ConcurrentHashMap.newKeySet();
    /** The watchdog's next planned wake-up ({@link System#nanoTime}), or {@link #IDLE_PARKED}. */
    private static volatile long wakeAt = IDLE_PARKED;
    private static Thread thread;

    private Watchdog() {
    }

    /** Closes {@code target} once {@code within} has passed, unless the returned deadline is closed first. */
    public static Armed arm(Closeable target, Duration within) {
        Objects.requireNonNull(target, "target");
        long now = System.nanoTime();
        long nanos = within.isNegative() ? 0 : within.compareTo(Duration.ofDays(365)) > 0 ? TimeUnit.DAYS.toNanos(365) : within.toNanos();
        Armed armed = new Armed(target, now + nanos);
        ARMED.add(armed);
        Thread t = watchdog();
        long planned = wakeAt;
        if (planned == IDLE_PARKED || armed.deadline - planned < 0) LockSupport.unpark(t);
        return armed;
    }

    /** How many deadlines are armed now (for tests). */
    static int armed() {
        return ARMED.size();
    }

    private static synchronized Thread watchdog() {
        if (thread == null) thread = Thread.ofPlatform().name("aether-watchdog").daemon().start(Watchdog::watch);
        return thread;
    }

    private static void watch() {
        long lastArmed = System.nanoTime();
        while (true) {
            long now = System.nanoTime();
            long next = now + TICK;
            for (Armed a : ARMED) {
                if (now - a.deadline >= 0) {
                    if (ARMED.remove(a)) a.fire();
                } else if (a.deadline - next < 0) {
                    next = a.deadline;
                }
            }
            if (!ARMED.isEmpty()) {
                lastArmed = now;
            } else if (now - lastArmed > IDLE) {
                // Parked for good: an arm that comes now sees IDLE_PARKED and wakes this thread, or
                // this thread sees its deadline below and goes on.
                wakeAt = IDLE_PARKED;
                if (ARMED.isEmpty()) LockSupport.park();
                lastArmed = System.nanoTime();
                continue;
            }
            wakeAt = next;
            LockSupport.parkNanos(next - now);
        }
    }

    /** One armed deadline: closing it before it passes keeps its target open. */
    public static final class Armed implements AutoCloseable {
        private final Closeable target;
        private final long deadline;
        private volatile boolean expired;

        private Armed(Closeable target, long deadline) {
            this.target = target;
            this.deadline = deadline;
        }

        private void fire() {
            expired = true;
            try {
                target.close();
            } catch (IOException | RuntimeException closedAlready) {
                // nothing more to end
            }
        }

        /** Whether the deadline passed and the target was closed for it (a failed read or write was then its doing). */
        public boolean expired() {
            return expired;
        }

        /** Disarms the deadline; wakes nothing. */
        @Override
        public void close() {
            ARMED.remove(this);
        }
    }
}
