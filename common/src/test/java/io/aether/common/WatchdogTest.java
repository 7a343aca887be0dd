package io.aether.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.Closeable;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class WatchdogTest {

    /** A target that counts its closes and says when the first came. */
    private static final class Target implements Closeable {
        final AtomicInteger closes = new AtomicInteger();
        final CountDownLatch closed = new CountDownLatch(1);

        @Override
        public void close() {
            closes.incrementAndGet();
            closed.countDown();
        }
    }

    @Test
    void aDeadlineThatPassesClosesItsTargetOnce() throws Exception {
        Target target = new Target();
        long t0 = System.nanoTime();
        Watchdog.Armed armed = Watchdog.arm(target, Duration.ofMillis(50));
        assertTrue(target.closed.await(10, TimeUnit.SECONDS), "closed");
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(50), "not before its deadline");
        assertTrue(armed.expired());
        armed.close();
        Thread.sleep(250);
        assertEquals(1, target.closes.get());
    }

    @Test
    void aDisarmedDeadlineLeavesItsTargetOpen() throws Exception {
        Target target = new Target();
        Watchdog.Armed armed = Watchdog.arm(target, Duration.ofMillis(100));
        armed.close();
        assertFalse(target.closed.await(400, TimeUnit.MILLISECONDS), "disarmed: left open");
        assertFalse(armed.expired());
    }

    @Test
    void aShortDeadlineArmedBehindALongOneFiresOnItsOwnTime() throws Exception {
        Target longOne = new Target();
        Target shortOne = new Target();
        try (Watchdog.Armed l = Watchdog.arm(longOne, Duration.ofMinutes(10))) {
            // Let the watchdog plan its next wake-up a tick ahead, then arm a deadline before it.
            Thread.sleep(20);
            Watchdog.Armed s = Watchdog.arm(shortOne, Duration.ofMillis(30));
            assertTrue(shortOne.closed.await(5, TimeUnit.SECONDS), "the short deadline fired");
            assertTrue(s.expired());
            assertFalse(l.expired());
            assertEquals(0, longOne.closes.get());
        }
    }

    @Test
    void theWatchdogComesBackAfterGoingIdle() throws Exception {
        Watchdog.arm(new Target(), Duration.ofMillis(1)).close();
        // Past the idle time with nothing armed: the watchdog parks until the next arm wakes it.
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(Watchdog.IDLE + Watchdog.TICK) + 500);
        Target target = new Target();
        Watchdog.arm(target, Duration.ofMillis(20));
        assertTrue(target.closed.await(5, TimeUnit.SECONDS), "an arm wakes an idle watchdog");
    }

    @Test
    void manyDeadlinesAtOnceEachFireOrStayOpen() throws Exception {
        Target[] targets = new Target[200];
        Watchdog.Armed[] armed = new Watchdog.Armed[targets.length];
        for (int i = 0; i < targets.length; i++) {
            targets[i] = new Target();
            armed[i] = Watchdog.arm(targets[i], Duration.ofMillis(i % 2 == 0 ? 30 : 60_000));
        }
        for (int i = 0; i < targets.length; i += 2) assertTrue(targets[i].closed.await(5, TimeUnit.SECONDS), "target " + i);
        for (int i = 1; i < targets.length; i += 2) {
            assertEquals(0, targets[i].closes.get(), "target " + i);
            armed[i].close();
        }
        assertEquals(0, Watchdog.armed(), "every deadline fired or was disarmed");
        assertEquals(1, Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("aether-watchdog")).count(),
                "one thread for every deadline");
    }

    @Test
    void aTargetThatFailsToCloseDoesNotStopTheWatchdog() throws Exception {
        Watchdog.arm(() -> {
            throw new java.io.IOException("already closed");
        }, Duration.ofMillis(10));
        Target target = new Target();
        Watchdog.arm(target, Duration.ofMillis(40));
        assertTrue(target.closed.await(5, TimeUnit.SECONDS));
    }
}
