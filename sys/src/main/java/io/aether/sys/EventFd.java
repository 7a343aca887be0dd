package io.aether.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A Linux eventfd: a 64-bit counter behind a descriptor, which KVM signals for a guest's write
 * (ioeventfd) and reads to raise an interrupt (irqfd). Non-blocking: {@link #take} never waits;
 * wait with {@link Libc#pollIn(int[], int)} over {@link #fd()}.
 */
public final class EventFd implements AutoCloseable {

    static final int EFD_NONBLOCK = 04000;
    static final int EFD_CLOEXEC = 02000000;

    private final int fd;
    private volatile boolean closed;

    private EventFd(int fd) {
        this.fd = fd;
    }

    /** A new counter at 0. */
    public static EventFd open() {
        return new EventFd(Libc.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    }

    public int fd() {
        return fd;
    }

    /** Adds 1 to the counter, waking whoever waits on it. */
    public void signal() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment one = arena.allocate(ValueLayout.JAVA_LONG);
            one.set(ValueLayout.JAVA_LONG, 0, 1L);
            // -1 (EAGAIN) only when the counter is at its maximum: it is signalled either way.
            Libc.write(fd, one, 8);
        }
    }

    /** Reads and clears the counter: how many signals came since the last take, 0 for none. */
    public long take() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
            return Libc.read(fd, value, 8) == 8 ? value.get(ValueLayout.JAVA_LONG, 0) : 0;
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Libc.close(fd);
    }
}
