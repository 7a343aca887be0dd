package io.aether.devices.ratelimit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RateLimiterTest {

    private static final long MS = 1_000_000;

    @Test
    void aFullBucketBurstsThenRefillsAtItsRate() {
        ManualClock clock = new ManualClock();
        RateLimiter bytes = clock.limiter(1000, 1000, 0, 0); // 1 byte a millisecond, 1000 saved up
        assertTrue(bytes.tryTake(600, 1));
        assertFalse(bytes.tryTake(600, 1), "400 left");
        assertEquals(200 * MS, bytes.nanosUntilAllowed(600, 1), "200 bytes short at 1 byte/ms");
        clock.advance(199 * MS);
        assertFalse(bytes.tryTake(600, 1));
        clock.advance(MS);
        assertTrue(bytes.tryTake(600, 1));
        assertEquals(2, bytes.throttled());
        clock.advance(10_000 * MS);
        assertTrue(bytes.tryTake(1000, 1), "saved up to the capacity only");
        assertFalse(bytes.tryTake(1, 1));
    }

    @Test
    void aRequestLargerThanTheBucketGoesWhenItIsFullAndLeavesItInDebt() {
        ManualClock clock = new ManualClock();
        RateLimiter bytes = clock.limiter(1000, 1000, 0, 0);
        assertTrue(bytes.tryTake(3000, 1), "never refused for its size");
        // 2000 bytes of debt and 1 more wanted: 2001 ms.
        assertEquals(2001 * MS, bytes.nanosUntilAllowed(1, 1));
        clock.advance(2000 * MS);
        assertFalse(bytes.tryTake(1, 1));
        clock.advance(MS);
        assertTrue(bytes.tryTake(1, 1));
        // The long-run rate holds: 3001 bytes in 2001 ms against 1000 saved plus 1 byte/ms.
    }

    @Test
    void bothBucketsMustAllowAndNeitherIsChargedWhenOneRefuses() {
        ManualClock clock = new ManualClock();
        RateLimiter limiter = clock.limiter(1_000_000, 1_000_000, 2, 2); // 1 MB/s, 2 operations a second
        assertTrue(limiter.tryTake(100, 1));
        assertTrue(limiter.tryTake(100, 1));
        assertFalse(limiter.tryTake(100, 1), "out of operations, not of bytes");
        assertEquals(500 * MS, limiter.nanosUntilAllowed(100, 1), "one operation at 2 a second");
        clock.advance(500 * MS);
        assertTrue(limiter.tryTake(999_800, 1), "the refused request took no bytes: 999,800 were left, and refilled to the cap");
        assertEquals(1, limiter.throttled());
    }

    @Test
    void chargeTakesWithoutAsking() {
        ManualClock clock = new ManualClock();
        RateLimiter ops = clock.limiter(0, 0, 10, 1);
        assertTrue(ops.tryTake(0, 0), "nothing asked: allowed while not in debt");
        ops.charge(0, 3);
        assertFalse(ops.tryTake(0, 0), "3 operations charged against 1 saved: 2 in debt");
        assertEquals(200 * MS, ops.nanosUntilAllowed(0, 0), "2 operations at 10 a second");
    }

    @Test
    void limitsAreChecked() {
        assertEquals("rate must be at least 1 a second, got 0",
                assertThrows(IllegalArgumentException.class, () -> new RateLimiter.Limit(0, 1)).getMessage());
        assertEquals("capacity must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> new RateLimiter.Limit(1, 0)).getMessage());
        assertEquals("a rate limiter needs a bytes or an operations limit", assertThrows(IllegalArgumentException.class,
                () -> new RateLimiter(Optional.empty(), Optional.empty(), System::nanoTime)).getMessage());
    }

    @Test
    void aThrottleSchedulesOneRetryAtATimeForWhenTokensReturn() {
        ManualClock clock = new ManualClock();
        Throttle throttle = clock.throttle(0, 0, 1, 1);
        List<String> retries = new ArrayList<>();
        assertTrue(throttle.admit(0, 1, () -> retries.add("unexpected")));
        assertFalse(throttle.admit(0, 1, () -> retries.add("first")));
        assertFalse(throttle.admit(0, 1, () -> retries.add("second")), "still held");
        assertEquals(1, clock.pending(), "one retry pending, not one per refusal");
        assertEquals(1000 * MS, clock.nextIn());
        clock.advance(1000 * MS);
        assertEquals(List.of("first"), retries);
        assertTrue(throttle.admit(0, 1, () -> retries.add("unexpected")));
        assertFalse(throttle.admit(0, 1, () -> retries.add("third")));
        assertEquals(1, clock.pending(), "a new retry once the last one ran");
        assertEquals(3, throttle.throttled());
        assertTrue(Throttle.NONE.admit(Long.MAX_VALUE, Long.MAX_VALUE, () -> retries.add("never")));
    }
}
