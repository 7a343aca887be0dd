package io.aether.bench.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/** When a VM's console log first held a byte, polled from before the request that makes the VM, on a thread of its own. */
final class ConsoleFirstByte {

    private static final long TIMEOUT = TimeUnit.SECONDS.toNanos(60);

    private final Thread thread;
    private volatile long at = -1;

    private ConsoleFirstByte(Path log) {
        thread = Thread.ofPlatform().start(() -> {
            long deadline = System.nanoTime() + TIMEOUT;
            while (System.nanoTime() < deadline) {
                try {
                    if (Files.size(log) > 0) {
                        at = System.nanoTime();
                        return;
                    }
                } catch (IOException notYet) {
                    // the VM's folder is not there yet
                }
                LockSupport.parkNanos(200_000); // ~0.25 ms resolution, without taking a core
            }
        });
    }

    /** Starts watching {@code log}, which need not exist yet. */
    static ConsoleFirstByte watch(Path log) {
        return new ConsoleFirstByte(log);
    }

    /** The first byte's {@link System#nanoTime}, or -1 if none came within 60 s. */
    long await() throws InterruptedException {
        thread.join(TimeUnit.NANOSECONDS.toMillis(TIMEOUT));
        return at;
    }
}
