package io.aether.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class UninterruptiblyTest {

    /** Runs {@code waiting} on a thread of its own, interrupts it while it waits, then lets {@code release} end the wait. */
    private static void interruptedWhileWaiting(Runnable waiting, Runnable release, AtomicBoolean released) throws Exception {
        AtomicBoolean endedAfterRelease = new AtomicBoolean();
        AtomicBoolean interruptKept = new AtomicBoolean();
        CountDownLatch started = new CountDownLatch(1);
        Thread waiter = Thread.ofPlatform().start(() -> {
            started.countDown();
            waiting.run();
            endedAfterRelease.set(released.get());
            interruptKept.set(Thread.currentThread().isInterrupted());
        });
        started.await();
        for (int i = 0; i < 5; i++) {
            waiter.interrupt();
            Thread.sleep(20);
        }
        assertTrue(waiter.isAlive(), "the interrupts did not end the wait");
        released.set(true);
        release.run();
        assertTrue(waiter.join(java.time.Duration.ofSeconds(5)));
        assertTrue(endedAfterRelease.get(), "the wait ended only once its thread or latch let it");
        assertTrue(interruptKept.get(), "the interrupt is kept for the caller");
    }

    @Test
    void aJoinOutlastsInterruptsAndKeepsThem() throws Exception {
        CountDownLatch finish = new CountDownLatch(1);
        Thread worker = Thread.ofPlatform().start(() -> {
            try {
                finish.await();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        interruptedWhileWaiting(() -> Uninterruptibly.join(worker), finish::countDown, new AtomicBoolean());
        assertFalse(worker.isAlive());
    }

    @Test
    void anAwaitOutlastsInterruptsAndKeepsThem() throws Exception {
        CountDownLatch latch = new CountDownLatch(1);
        interruptedWhileWaiting(() -> Uninterruptibly.await(latch), latch::countDown, new AtomicBoolean());
        assertEquals(0, latch.getCount());
    }

    @Test
    void withoutAnInterruptTheFlagStaysClear() throws Exception {
        CountDownLatch latch = new CountDownLatch(0);
        AtomicReference<Boolean> flag = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            Uninterruptibly.await(latch);
            Uninterruptibly.join(Thread.ofPlatform().start(() -> { }));
            flag.set(Thread.currentThread().isInterrupted());
        });
        assertTrue(t.join(java.time.Duration.ofSeconds(5)));
        assertEquals(Boolean.FALSE, flag.get());
    }
}
