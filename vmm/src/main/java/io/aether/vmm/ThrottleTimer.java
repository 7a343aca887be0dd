package io.aether.vmm;

import io.aether.devices.ratelimit.RetryTimer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Runs the rate limiters' retries (a throttled queue served again once its tokens return) on one
 * thread of the VM's. A paused VM's devices must not move: retries that come due while it is
 * paused are held and run when it resumes, and {@link #pause} returns only once no retry runs.
 */
final class ThrottleTimer implements DeviceThread, RetryTimer {

    private final ScheduledThreadPoolExecutor scheduler;
    /** Held while a retry runs, so that pause waits for it. */
    private final Object gate = new Object();
    private final List<Runnable> held = new ArrayList<>();
    private boolean paused;
    private boolean closed;

    ThrottleTimer() {
        scheduler = new ScheduledThreadPoolExecutor(1, task -> Thread.ofPlatform().name("throttle").daemon().unstarted(task));
        scheduler.setRemoveOnCancelPolicy(true);
    }

    @Override
    public void after(long nanos, Runnable retry) {
        synchronized (gate) {
            if (closed) return;
        }
        scheduler.schedule(() -> run(retry), nanos, TimeUnit.NANOSECONDS);
    }

    private void run(Runnable retry) {
        synchronized (gate) {
            if (closed) return;
            if (paused) {
                held.add(retry);
                return;
            }
            retry.run();
        }
    }

    @Override
    public void start() {
        // The scheduler's thread starts with the first retry.
    }

    @Override
    public void pause() {
        synchronized (gate) {
            paused = true;
        }
    }

    @Override
    public void resume() {
        synchronized (gate) {
            paused = false;
            for (Runnable retry : held) scheduler.execute(() -> run(retry));
            held.clear();
        }
    }

    @Override
    public void close() {
        synchronized (gate) {
            closed = true;
            held.clear();
        }
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
