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
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    /** Waits until {@code latch} counts down to zero. */
    public static void await(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }
}
