package io.aether.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Raw mode for a terminal on standard input, so that every key (Ctrl-C included) reaches the
 * guest's console; {@link #close()} restores the saved settings.
 */
public final class Terminal implements AutoCloseable {

    private static final long TERMIOS_SIZE = 60; // glibc struct termios on x86_64
    private static final int TCSANOW = 0;

    /**
     * Linked only once standard input turns out to be a terminal: each downcall costs a
     * generated stub (milliseconds), and a monitor started by a node agent has no terminal.
     */
    private static final class Calls {
        static final MethodHandle TCGETATTR;
        static final MethodHandle TCSETATTR;
        static final MethodHandle CFMAKERAW;

        static {
            Linker linker = Linker.nativeLinker();
            var lookup = linker.defaultLookup();
            TCGETATTR = linker.downcallHandle(lookup.find("tcgetattr").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            TCSETATTR = linker.downcallHandle(lookup.find("tcsetattr").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            CFMAKERAW = linker.downcallHandle(lookup.find("cfmakeraw").orElseThrow(),
                    FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
        }
    }

    private final int fd;
    private final Arena arena;
    private final MemorySegment saved;
    private boolean restored;

    private Terminal(int fd, Arena arena, MemorySegment saved) {
        this.fd = fd;
        this.arena = arena;
        this.saved = saved;
    }

    /** Puts {@code fd} in raw mode if it is a terminal; returns null when it is not. */
    public static Terminal rawIfTerminal(int fd) {
        if (!Libc.isatty(fd)) return null;
        Arena keep = Arena.ofShared();
        try {
            MemorySegment saved = keep.allocate(TERMIOS_SIZE, 8);
            if ((int) Calls.TCGETATTR.invokeExact(fd, saved) != 0) {
                keep.close();
                return null;
            }
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment raw = tmp.allocate(TERMIOS_SIZE, 8);
                raw.copyFrom(saved);
                Calls.CFMAKERAW.invokeExact(raw);
                if ((int) Calls.TCSETATTR.invokeExact(fd, TCSANOW, raw) != 0) {
                    keep.close();
                    return null;
                }
            }
            return new Terminal(fd, keep, saved);
        } catch (Throwable e) {
            keep.close();
            throw new IllegalStateException("cannot set terminal raw mode", e);
        }
    }

    @Override
    public synchronized void close() {
        if (restored) return;
        restored = true;
        try {
            int ignored = (int) Calls.TCSETATTR.invokeExact(fd, TCSANOW, saved);
        } catch (Throwable e) {
            // Restoring is best effort on the way out.
        }
        arena.close();
    }
}
