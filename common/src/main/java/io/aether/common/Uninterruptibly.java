package io.aether.common;

import java.util.concurrent.CountDownLatch;

/**
 * Waits that an interrupt must not cut short: a thread's end or a latch that its work must reach
 * before the caller goes on (a copy into guest memory, a claim that is used or undone next). An
 * interrupt that comes meanwhile is kept: the caller's thread is interrupted again once the wait ends.
 */
public final class Uninterruptibly {

    private Uninterruptibly() {
    }

    /** Waits until {@code thread} ends. */
    public static void join(Thread thread) {
        waitFor(thread::join);
    }

    /** Waits until {@code latch} counts down to zero. */
    public static void await(CountDownLatch latch) {
        waitFor(latch::await);
    }

    /** A wait that an interrupt ends early. */
    private interface Wait {
        void run() throws InterruptedException;
    }

    private static void waitFor(Wait wait) {
        boolean interrupted = false;
        while (true) {
            try {
                wait.run();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
