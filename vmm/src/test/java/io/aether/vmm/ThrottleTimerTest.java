package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ThrottleTimerTest {

    @Test
    void retriesRunWhenDueButAreHeldWhileThePausedVmMustNotMove() throws Exception {
        try (ThrottleTimer timer = new ThrottleTimer()) {
            CountDownLatch ran = new CountDownLatch(1);
            timer.after(TimeUnit.MILLISECONDS.toNanos(10), ran::countDown);
            assertTrue(ran.await(10, TimeUnit.SECONDS));

            timer.pause();
            CountDownLatch held = new CountDownLatch(1);
            timer.after(0, held::countDown);
            assertFalse(held.await(300, TimeUnit.MILLISECONDS), "due, but the VM is paused");
            timer.resume();
            assertTrue(held.await(10, TimeUnit.SECONDS), "run on resume");
        }
    }

    @Test
    void pauseWaitsForARetryUnderWay() throws Exception {
        try (ThrottleTimer timer = new ThrottleTimer()) {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicBoolean finished = new AtomicBoolean();
            timer.after(0, () -> {
                started.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                finished.set(true);
            });
            assertTrue(started.await(10, TimeUnit.SECONDS));
            Thread releaser = Thread.ofPlatform().start(() -> {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                release.countDown();
            });
            timer.pause();
            assertTrue(finished.get(), "pause returned only after the retry finished");
            releaser.join();
        }
    }

    @Test
    void nothingRunsAfterClose() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        ThrottleTimer timer = new ThrottleTimer();
        timer.pause();
        timer.after(0, runs::incrementAndGet);
        timer.close();
        timer.after(0, runs::incrementAndGet);
        Thread.sleep(100);
        assertEquals(0, runs.get());
    }
}
