package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class ByteBudgetTest {

    /** A thread per task: the common pool may have a single thread here, which one waiting task would hold. */
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();

    @AfterEach
    void stopThreads() {
        threads.shutdownNow();
    }

    @Test
    void takesUpToTheCapacityAndGivesEverythingBackOnClose() {
        ByteBudget budget = new ByteBudget(100, Duration.ZERO);
        ByteBudget.Lease a = budget.lease();
        ByteBudget.Lease b = budget.lease();
        a.take(60);
        b.take(40);
        assertEquals(100, budget.used());
        assertEquals(100, budget.peak());
        a.give(20); // a buffer replaced: its bytes stay the request's until it settles
        assertEquals(40, a.inUse());
        assertEquals(100, budget.used());
        a.settle();
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
        }, threads);
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
    void buffersAreDrawnFromAReservationAndTheBudgetIsAskedOnlyForMore() {
        ByteBudget budget = new ByteBudget(100, Duration.ZERO);
        ByteBudget.Lease lease = budget.lease();
        lease.reserve(50);
        assertEquals(50, budget.used());
        lease.take(30);
        lease.take(20);
        assertEquals(50, budget.used(), "both buffers came out of the reservation");
        lease.take(10);
        assertEquals(60, budget.used(), "only what outgrew it was asked for");
        lease.give(30);
        lease.take(25);
        assertEquals(60, budget.used(), "a dropped buffer's bytes are reused");
        lease.settle();
        assertEquals(55, lease.held());
        assertEquals(55, budget.used(), "settling keeps exactly the buffers in use");
        ByteBudget.Lease other = budget.lease();
        assertFalse(assertThrows(ByteBudget.Refused.class, () -> other.reserve(50)).never);
        other.reserve(45);
        other.close();
        lease.close();
        assertEquals(0, budget.used());
    }

    private static void awaitWaitingHolders(ByteBudget budget, long n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (budget.waitingHolders() != n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(n, budget.waitingHolders());
    }

    @Test
    void whenEveryHolderWouldWaitForTheOthersTheLastToWaitIsRefusedAtOnce() throws Exception {
        ByteBudget budget = new ByteBudget(100, Duration.ofSeconds(20));
        ByteBudget.Lease a = budget.lease();
        ByteBudget.Lease b = budget.lease();
        a.take(40);
        b.take(40);
        CompletableFuture<Void> aGrows = CompletableFuture.runAsync(() -> a.take(30), threads); // 20 free: waits for b
        awaitWaitingHolders(budget, 1);
        assertFalse(aGrows.isDone());
        long start = System.nanoTime();
        ByteBudget.Refused r = assertThrows(ByteBudget.Refused.class, () -> b.take(30)); // would wait for a: neither could finish
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "refused without the 20 s wait");
        assertFalse(r.never);
        assertEquals("every request in flight waits for another's bytes; try again later", r.getMessage());
        b.close();
        aGrows.get(10, TimeUnit.SECONDS);
        assertEquals(70, budget.used());
        a.close();
        assertEquals(0, budget.used());
    }

    @Test
    void aNewRequestWaitsWhileARequestInFlightWaits() throws Exception {
        ByteBudget budget = new ByteBudget(100, Duration.ofSeconds(20));
        ByteBudget.Lease growing = budget.lease();
        ByteBudget.Lease running = budget.lease();
        growing.take(50);
        running.take(40); // 10 free
        CompletableFuture<Void> growth = CompletableFuture.runAsync(() -> growing.take(20), threads);
        awaitWaitingHolders(budget, 1);
        ByteBudget.Lease fresh = budget.lease();
        CompletableFuture<Void> admission = CompletableFuture.runAsync(() -> fresh.reserve(10), threads); // fits, but goes second
        Thread.sleep(200);
        assertFalse(admission.isDone(), "the new request waits for the one in flight");
        assertFalse(growth.isDone());
        running.close();
        growth.get(10, TimeUnit.SECONDS);
        admission.get(10, TimeUnit.SECONDS);
        assertEquals(80, budget.used());
        growing.close();
        fresh.close();
        assertEquals(0, budget.used());
    }

    @Test
    void givingBackMoreThanHeldIsAProgrammingError() {
        ByteBudget budget = new ByteBudget(100, Duration.ZERO);
        ByteBudget.Lease lease = budget.lease();
        lease.take(10);
        assertThrows(IllegalArgumentException.class, () -> lease.give(11));
        assertThrows(IllegalArgumentException.class, () -> lease.take(-1));
        assertThrows(IllegalArgumentException.class, () -> lease.reserve(-1));
        assertEquals(10, budget.used());
        lease.close();
    }
}
