package io.aether.monitorapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A process's demand for CPU against what its threads do: a spinning thread wants the whole
 * window however many other processes share the CPUs (it runs or waits runnable), a sleeping
 * process next to nothing.
 */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class CpuDemandTest {

    private static final long WINDOW_MILLIS = 500;

    private static long demandOver(long pid) throws InterruptedException {
        long before = CpuDemand.nanos(pid).orElseThrow();
        long start = System.nanoTime();
        Thread.sleep(WINDOW_MILLIS);
        long demand = CpuDemand.nanos(pid).orElseThrow() - before;
        long elapsed = System.nanoTime() - start;
        return demand * 1000 / elapsed; // per mille of one CPU
    }

    @Test
    void aSpinningThreadWantsAWholeCpuASleepingProcessNothing() throws Exception {
        AtomicBoolean spin = new AtomicBoolean(true);
        Thread spinner = Thread.ofPlatform().start(() -> {
            while (spin.get()) Thread.onSpinWait();
        });
        try {
            long spinning = demandOver(ProcessHandle.current().pid());
            assertTrue(spinning >= 900, "this JVM with a spinning thread wants " + spinning + "‰ of a CPU");
        } finally {
            spin.set(false);
            spinner.join();
        }
        Process sleeper = new ProcessBuilder("sleep", "10").start();
        try {
            Thread.sleep(200); // its exec done
            long sleeping = demandOver(sleeper.pid());
            assertTrue(sleeping < 50, "a sleeping process wants " + sleeping + "‰ of a CPU");
        } finally {
            sleeper.destroyForcibly();
            sleeper.waitFor();
        }
        assertEquals(OptionalLong.empty(), CpuDemand.nanos(sleeper.pid()), "a process gone has no account");
    }
}
