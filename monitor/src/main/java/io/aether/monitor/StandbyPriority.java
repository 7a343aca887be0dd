package io.aether.monitor;

import io.aether.sys.Errno;
import io.aether.sys.Libc;
import io.aether.sys.NativeCallException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * A standby monitor's CPU priority. A pool refills in the background, right after it handed a
 * standby out, so a new standby's JVM start and warm-up compete with the VM that just started
 * booting (in the nested test host a refill made a Linux guest's boot 1.2 to 1.3 times as long
 * as QEMU's, and 1.09 times with the refill held back). A standby therefore runs at a low priority
 * ({@link #STANDBY_NICE}: about a tenth of a normal thread's share of a busy CPU, so that it still
 * warms up on a loaded host) until its launch, which brings every thread back to nice 0
 * before the VM's threads are made (they inherit the launching thread's). Only a process that may
 * raise it again (CAP_SYS_NICE, as the agent's root has) lowers it: an unprivileged one could not
 * give its VM the normal priority back.
 */
final class StandbyPriority {

    static final int STANDBY_NICE = 10;
    /** CAP_SYS_NICE's bit in /proc/self/status's CapEff (linux/capability.h). */
    private static final int CAP_SYS_NICE = 23;

    private StandbyPriority() {
    }

    /** Lowers every thread of this process to {@link #STANDBY_NICE} if it may raise them back; returns whether it did. */
    static boolean lower() {
        if (!mayRaise()) return false;
        setAll(STANDBY_NICE);
        return true;
    }

    /** The calling thread (whose new threads inherit its priority) back to nice 0: first, on a launch's path. */
    static void raiseCaller() {
        Libc.setThreadNice(callerTid(), 0);
    }

    /**
     * Thread {@code tid} at nice 0 while the others wait at {@link #STANDBY_NICE}: the control
     * socket's acceptor, whose connections' threads inherit its priority, so that a launch is
     * accepted and read at the normal priority from its first instruction.
     */
    static void raise(int tid) {
        Libc.setThreadNice(tid, 0);
    }

    /** Every other thread back to nice 0: after the VM runs. */
    static void raiseAll() {
        setAll(0);
    }

    private static void setAll(int nice) {
        for (int tid : threads()) {
            try {
                Libc.setThreadNice(tid, nice);
            } catch (NativeCallException e) {
                // ESRCH: the thread ended since the listing.
                if (e.errno() != Errno.ESRCH) throw e;
            }
        }
    }

    static List<Integer> threads() {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.map(t -> Integer.parseInt(t.getFileName().toString())).toList();
        } catch (IOException e) {
            throw new IllegalStateException("cannot list /proc/self/task: " + e.getMessage(), e);
        }
    }

    /** The calling thread's id in the kernel. */
    static int callerTid() {
        try {
            return Integer.parseInt(Path.of("/proc/thread-self").toRealPath().getFileName().toString());
        } catch (IOException e) {
            throw new IllegalStateException("cannot read /proc/thread-self: " + e.getMessage(), e);
        }
    }

    private static boolean mayRaise() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("CapEff:")) return (Long.parseUnsignedLong(line.substring(7).strip(), 16) & (1L << CAP_SYS_NICE)) != 0;
            }
        } catch (IOException | NumberFormatException e) {
            // Unknown: keep the normal priority.
        }
        return false;
    }
}
