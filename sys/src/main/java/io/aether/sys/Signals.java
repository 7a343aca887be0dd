package io.aether.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The signal that kicks a vCPU thread out of {@code KVM_RUN}.
 *
 * <p>A signal only interrupts a blocking ioctl when it has a handler; an ignored or default-ignored
 * signal is discarded. The handler must be native and async-signal-safe, and running Java in
 * signal context is not safe, so the handler is libc's {@code getpid}: it does nothing harmful,
 * and its return value is ignored by the signal trampoline. The signal is a real-time one the JVM
 * does not use.
 */
public final class Signals {

    /** SIGRTMIN (34 in glibc) + 6. */
    public static final int KICK = 40;

    private static final long SIGACTION_SIZE = 152; // glibc x86_64 struct sigaction
    private static final long SA_MASK_OFFSET = 8;
    private static final long SA_FLAGS_OFFSET = 136;
    private static volatile boolean installed;

    private Signals() {
    }

    /** Installs the kick handler once per process. */
    public static synchronized void installKickHandler() {
        if (installed) return;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment action = arena.allocate(SIGACTION_SIZE, 8);
            action.set(ValueLayout.ADDRESS, 0, Libc.Functions.GETPID);
            action.asSlice(SA_MASK_OFFSET, 128).fill((byte) 0);
            action.set(ValueLayout.JAVA_INT, SA_FLAGS_OFFSET, 0); // no SA_RESTART: KVM_RUN must return EINTR
            // Through Libc's one downcall shape, not a shape of its own (see Libc.Call).
            if (Libc.sigaction(KICK, action) != 0) throw new IllegalStateException("sigaction(" + KICK + ") failed");
            installed = true;
        }
    }
}
