package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ByteBudgetTest {

    @Test
    void takesUpToTheCapacityAndGivesEverythingBackOnClose() {
        ByteBudget budget = new ByteBudget(100, Duration.ZERO);
        ByteBudget.Lease a = budget.lease();
        ByteBudget.Lease b = budget.lease();
        a.take(60);
        b.take(40);
        assertEquals(100, budget.used());
        assertEquals(100, budget.peak());
        a.give(20);
        assertEquals(40, a.held());
        assertEquals(80, budget.used());
        a.close();
        b.close();
        assertEquals(0, budget.used());
        assertEquals(100, budget.peak());
        assertEquals(0, budget.refusals());
        a.close(); // closing twice gives nothing back twice
        assertEquals(0, budget.used());
    }

    @Test
    void aTakeBeyondTheBudgetIsRefusedAfterTheWaitAndChangesNothing() {
        ByteBudget budget = new ByteBudget(100, Duration.ofMillis(200));
        ByteBudget.Lease holder = budget.lease();
        holder.take(70);
        ByteBudget.Lease late = budget.lease();
        late.take(10);
        long start = System.nanoTime();
        ByteBudget.Refused r = assertThrows(ByteBudget.Refused.class, () -> late.take(30));
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertFalse(r.never, "waiting could have helped");
        assertTrue(waitedMs >= 150, "it waited for room first: " + waitedMs + " ms");
        assertTrue(r.getMessage().contains("try again later"), r.getMessage());
        assertEquals(10, late.held(), "a refused take holds nothing more");
        assertEquals(80, budget.used());
        assertEquals(1, budget.refusals());
        late.close();
        holder.close();
        assertEquals(0, budget.used());
    }

    @Test
    void aRequestNeedingMoreThanTheWholeBudgetIsRefusedAtOnce() {
        ByteBudget budget = new ByteBudget(100, Duration.ofSeconds(20));
        ByteBudget.Lease lease = budget.lease();
        lease.take(60);
        long start = System.nanoTime();
        ByteBudget.Refused r = assertThrows(ByteBudget.Refused.class, () -> lease.take(41));
        assertTrue(r.never);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "no waiting when waiting cannot help");
        assertEquals(60, budget.used());
        lease.close();
        assertEquals(0, budget.used());
    }

    @Test
    void aWaitingTakeProceedsWhenAnotherRequestGivesBack() throws Exception {
        ByteBudget budget = new ByteBudget(100, Duration.ofSeconds(20));
        ByteBudget.Lease first = budget.lease();
        first.take(90);
        CountDownLatch waiting = new CountDownLatch(1);
        CompletableFuture<Long> second = CompletableFuture.supplyAsync(() -> {
            ByteBudget.Lease lease = budget.lease();
            waiting.countDown();
            lease.take(50); // queued until the first request is answered
            long used = budget.used();
            lease.close();
            return used;
        });
        assertTrue(waiting.await(10, TimeUnit.SECONDS));
        Thread.sleep(100);
        assertFalse(second.isDone(), "the second request waits for room");
        first.close();
        assertEquals(50, second.get(10, TimeUnit.SECONDS));
        assertEquals(0, budget.used());
        assertEquals(0, budget.refusals());
        assertTrue(budget.peak() <= 100, "never over the budget: " + budget.peak());
    }

    @Test
    void givingBackMoreThanHeldIsAProgrammingError() {
        ByteBudget budget = new ByteBudget(100, Duration.ZERO);
        ByteBudget.Lease lease = budget.lease();
        lease.take(10);
        assertThrows(IllegalArgumentException.class, () -> lease.give(11));
        assertThrows(IllegalArgumentException.class, () -> lease.take(-1));
        assertEquals(10, budget.used());
        lease.close();
    }
}
