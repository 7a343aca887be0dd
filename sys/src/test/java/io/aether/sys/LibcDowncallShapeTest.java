package io.aether.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every libc function the monitor calls goes through one downcall shape ({@code Libc.Call}): the
 * FFM linker spins a stub class per shape, which no AOT cache holds (docs/BENCHMARKS.md (f)). The
 * JVM's own class loading log, of a separate JVM that makes every call, counts the stubs.
 */
@Timeout(120)
class LibcDowncallShapeTest {

    /** Makes each of Libc's calls (and the signal handler's sigaction) once, each checked. */
    public static void main(String[] args) throws Exception {
        int zero = Libc.open("/dev/zero", Libc.O_RDONLY | Libc.O_CLOEXEC, 0);
        int sink = Libc.open("/dev/null", Libc.O_WRONLY | Libc.O_CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(16);
            check(Libc.read(zero, buf, 16) == 16, "read");
            check(Libc.write(sink, buf, 16) == 16, "write");
            check(Libc.pollIn(zero, 0), "poll");
            check(Libc.ioctlErrno(sink, 0xAE00, 0) == -Errno.ENOTTY, "ioctl");
            check(!Libc.isatty(sink), "isatty");
        }
        Libc.close(zero);
        Libc.close(sink);
        Libc.close(Libc.eventfd(0, Libc.O_CLOEXEC));
        Libc.munmap(Libc.mmap("mmap", 4096, Libc.PROT_READ, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0));
        Signals.installKickHandler();
        Libc.pthreadKill(Libc.pthreadSelf(), 0);
        check(!Libc.strerror(Errno.ENOENT).isEmpty(), "strerror");
        System.out.println("calls made");
    }

    private static void check(boolean ok, String call) {
        if (!ok) throw new AssertionError(call + " answered wrong");
    }

    @Test
    void everyCallTheMonitorMakesSharesOneDowncallStub(@TempDir Path dir) throws IOException, InterruptedException {
        Path log = dir.resolve("classes.txt");
        Path out = dir.resolve("out.txt");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xshare:off", "-Xlog:class+load=info:file=" + log,
                "-cp", System.getProperty("java.class.path"), LibcDowncallShapeTest.class.getName())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertTrue(child.waitFor(100, TimeUnit.SECONDS), "the calls' JVM did not end");
        assertEquals(0, child.exitValue(), Files.readString(out));
        assertTrue(Files.readString(out).contains("calls made"), Files.readString(out));
        List<String> stubs = Files.readAllLines(log).stream().filter(l -> l.contains("jdk.internal.foreign.abi.DowncallStub")).toList();
        assertEquals(1, stubs.size(), String.join("\n", stubs));
    }
}
