package io.aether.bench.vm;

import io.aether.sys.Libc;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Runs one process and measures it as a user would see it: from just before {@code posix_spawnp}
 * to its first byte on standard output, to a marker text, and to its exit, plus its peak resident
 * memory: {@code VmHWM} of {@code /proc/PID/status}, sampled every few milliseconds until the
 * process exits. ({@code ru_maxrss} from {@code wait4} cannot be used: a process spawned by a
 * JVM starts its life sharing the JVM's memory, and the kernel carries that peak across the
 * exec, so every child would report at least the benchmark JVM's own size.) Standard input is
 * {@code /dev/null}; standard error is discarded.
 */
final class Spawn {

    /** What one run measured; times in nanoseconds from the spawn, -1 when it did not happen. */
    record Measurement(long firstOutput, long marker, long exit, int exitStatus, long maxRssKiB, String output) {
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final AddressLayout ADDR = ValueLayout.ADDRESS;
    private static final long FILE_ACTIONS_SIZE = 80;   // glibc x86_64 posix_spawn_file_actions_t
    private static final int SAMPLE_MILLIS = 2;
    private static final int O_CLOEXEC = 02000000;

    private static final MethodHandle PIPE2 = handle("pipe2", FunctionDescriptor.of(INT, ADDR, INT));
    private static final MethodHandle FA_INIT = handle("posix_spawn_file_actions_init", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle FA_DUP2 = handle("posix_spawn_file_actions_adddup2", FunctionDescriptor.of(INT, ADDR, INT, INT));
    private static final MethodHandle FA_DESTROY = handle("posix_spawn_file_actions_destroy", FunctionDescriptor.of(INT, ADDR));
    private static final MethodHandle SPAWNP = handle("posix_spawnp", FunctionDescriptor.of(INT, ADDR, ADDR, ADDR, ADDR, ADDR, ADDR));
    private static final MethodHandle KILL = handle("kill", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle PIDFD_OPEN = handle("pidfd_open", FunctionDescriptor.of(INT, INT, INT));
    private static final MethodHandle WAIT4 = handle("wait4", FunctionDescriptor.of(INT, INT, ADDR, INT, ADDR));

    private Spawn() {
    }

    private static MethodHandle handle(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd);
    }

    /** The process's peak resident set so far, or 0 once it has exited (its memory is gone). */
    private static long highWaterMarkKiB(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.substring(6).replace("kB", "").strip());
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // Gone between the check and the read.
        }
        return 0;
    }

    static Measurement run(List<String> argv, String marker, long timeoutNanos) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(8, 4);
            if ((int) PIPE2.invokeExact(fds, O_CLOEXEC) != 0) throw new IllegalStateException("pipe2 failed");
            int readEnd = fds.get(INT, 0);
            int writeEnd = fds.get(INT, 4);
            int devNull = Libc.open("/dev/null", Libc.O_RDWR | Libc.O_CLOEXEC, 0);
            MemorySegment actions = arena.allocate(FILE_ACTIONS_SIZE, 8);
            int ignored = (int) FA_INIT.invokeExact(actions);
            ignored = (int) FA_DUP2.invokeExact(actions, devNull, 0);
            ignored = (int) FA_DUP2.invokeExact(actions, writeEnd, 1);
            ignored = (int) FA_DUP2.invokeExact(actions, devNull, 2);
            MemorySegment args = arena.allocate(ADDR, argv.size() + 1);
            for (int i = 0; i < argv.size(); i++) args.setAtIndex(ADDR, i, arena.allocateFrom(argv.get(i)));
            args.setAtIndex(ADDR, argv.size(), MemorySegment.NULL);
            MemorySegment environ = LIBC.find("environ").orElseThrow().reinterpret(8).get(ADDR, 0);
            MemorySegment pid = arena.allocate(INT);

            long start = System.nanoTime();
            int r = (int) SPAWNP.invokeExact(pid, arena.allocateFrom(argv.getFirst()), actions, MemorySegment.NULL, args, environ);
            ignored = (int) FA_DESTROY.invokeExact(actions);
            Libc.close(writeEnd);
            Libc.close(devNull);
            if (r != 0) {
                Libc.close(readEnd);
                throw new IllegalStateException("cannot start " + argv.getFirst() + ": error " + r);
            }
            long first = -1;
            long seen = -1;
            StringBuilder out = new StringBuilder();
            MemorySegment buffer = arena.allocate(65536);
            byte[] markerBytes = marker.getBytes(StandardCharsets.ISO_8859_1);
            int child = pid.get(INT, 0);
            int pidfd = (int) PIDFD_OPEN.invokeExact(child, 0);
            if (pidfd < 0) throw new IllegalStateException("pidfd_open failed");
            Path status = Path.of("/proc/" + child + "/status");
            long peakKiB = 0;
            while (System.nanoTime() - start < timeoutNanos) {
                peakKiB = Math.max(peakKiB, highWaterMarkKiB(status));
                if (!Libc.pollIn(readEnd, SAMPLE_MILLIS)) continue;
                long n = Libc.read(readEnd, buffer, buffer.byteSize());
                long now = System.nanoTime();
                if (n <= 0) break;
                if (first < 0) first = now - start;
                out.append(new String(buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.ISO_8859_1));
                if (seen < 0 && markerBytes.length > 0 && out.indexOf(marker) >= 0) seen = now - start;
            }
            Libc.close(readEnd);
            if (System.nanoTime() - start >= timeoutNanos) ignored = (int) KILL.invokeExact(child, 9);
            // The process may still be tearing down after closing its output: sample until it exits,
            // which its pidfd reports the moment it happens.
            long end = -1;
            while (end < 0) {
                peakKiB = Math.max(peakKiB, highWaterMarkKiB(status));
                if (Libc.pollIn(pidfd, SAMPLE_MILLIS)) end = System.nanoTime() - start;
            }
            Libc.close(pidfd);
            MemorySegment wstatus = arena.allocate(INT);
            if ((int) WAIT4.invokeExact(child, wstatus, 0, MemorySegment.NULL) != child) throw new IllegalStateException("wait4 failed");
            int raw = wstatus.get(INT, 0);
            int exitStatus = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F);
            return new Measurement(first, seen, end, exitStatus, peakKiB, out.toString());
        }
    }
}
