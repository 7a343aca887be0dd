package io.aether.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;

/**
 * The C library calls the monitor needs, as typed Java methods over the FFM API.
 *
 * <p>Each failing call throws {@link NativeCallException} with the name the caller gives (an
 * ioctl's request name, say) and the errno captured right after the call. This class is the one
 * place that turns a native address into a sized segment ({@link #mmap}).
 */
public final class Libc {

    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_NONBLOCK = 04000;
    public static final int O_CLOEXEC = 02000000;

    public static final int PROT_NONE = 0;
    public static final int PROT_READ = 1;
    public static final int PROT_WRITE = 2;
    public static final int MAP_SHARED = 0x01;
    public static final int MAP_PRIVATE = 0x02;
    public static final int MAP_ANONYMOUS = 0x20;
    public static final int MAP_NORESERVE = 0x4000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MemoryLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
    private static final ValueLayout ADDR = ValueLayout.ADDRESS;


    // Each function is linked on its first call, in a holder class of its own: linking a
    // downcall spins method handles (milliseconds each), and a short-lived monitor uses few.
    private static final class Open {
        static final MethodHandle HANDLE = downcall("open", FunctionDescriptor.of(INT, ADDR, INT, INT), true, 2);
    }

    private static final class Close {
        static final MethodHandle HANDLE = downcall("close", FunctionDescriptor.of(INT, INT), true, -1);
    }

    private static final class Read {
        static final MethodHandle HANDLE = downcall("read", FunctionDescriptor.of(LONG, INT, ADDR, LONG), true, -1);
    }

    private static final class Write {
        static final MethodHandle HANDLE = downcall("write", FunctionDescriptor.of(LONG, INT, ADDR, LONG), true, -1);
    }

    // ioctl's argument is declared as an address even where it carries a number: both travel in
    // the same register, and a second shape would cost a second generated stub at start-up.
    private static final class IoctlAddr {
        static final MethodHandle HANDLE = downcall("ioctl", FunctionDescriptor.of(INT, INT, LONG, ADDR), true, 2);
    }

    private static final class Mmap {
        static final MethodHandle HANDLE = downcall("mmap",
            FunctionDescriptor.of(ADDR, ADDR, LONG, INT, INT, INT, LONG), true, -1);
    }

    private static final class Munmap {
        static final MethodHandle HANDLE = downcall("munmap", FunctionDescriptor.of(INT, ADDR, LONG), true, -1);
    }

    private static final class Poll {
        static final MethodHandle HANDLE = downcall("poll", FunctionDescriptor.of(INT, ADDR, LONG, INT), true, -1);
    }

    private static final class Eventfd {
        static final MethodHandle HANDLE = downcall("eventfd", FunctionDescriptor.of(INT, INT, INT), true, -1);
    }

    private static final class Strerror {
        static final MethodHandle HANDLE = downcall("strerror", FunctionDescriptor.of(ADDR, INT), false, -1);
    }

    // Captures errno it does not need: the same shape and options as close, so the same stub.
    private static final class Isatty {
        static final MethodHandle HANDLE = downcall("isatty", FunctionDescriptor.of(INT, INT), true, -1);
    }

    private static final class Setsid {
        static final MethodHandle HANDLE = downcall("setsid", FunctionDescriptor.of(INT), true, -1);
    }

    private static final class Setpriority {
        static final MethodHandle HANDLE = downcall("setpriority", FunctionDescriptor.of(INT, INT, INT, INT), true, -1);
    }

    private static final class PthreadSelf {
        static final MethodHandle HANDLE = downcall("pthread_self", FunctionDescriptor.of(LONG), false, -1);
    }

    private static final class PthreadKill {
        static final MethodHandle HANDLE = downcall("pthread_kill", FunctionDescriptor.of(INT, LONG, INT), false, -1);
    }

    /**
     * The holders {@link #linkAhead} initializes, in the order a monitor's start reaches them last:
     * its main thread opens /dev/kvm and links {@code open} and {@code isatty} itself meanwhile.
     */
    static final List<Class<?>> LINKED_AHEAD = List.of(IoctlAddr.class, Mmap.class, Signals.class, PthreadSelf.class, Poll.class,
            Eventfd.class, Read.class, Write.class, Close.class, PthreadKill.class, Munmap.class);

    /** {@code off} turns {@link #linkAhead} off (to compare). */
    public static final String LINK_AHEAD_PROPERTY = "aether.libc.linkAhead";

    /**
     * Links the monitor's downcalls on a thread of its own while the caller goes on: each link
     * spins method handle classes that no AOT cache holds (122 classes in an arm64 boot, slow under
     * an emulated arm64 host: docs/BENCHMARKS.md (f)), which the VM's creation no longer waits for.
     * A holder the caller reaches first it links itself, and the other thread waits for it (class
     * initialization): each is linked once. Returns the thread, or null when {@link #LINK_AHEAD_PROPERTY} is off.
     */
    public static Thread linkAhead() {
        if ("off".equals(System.getProperty(LINK_AHEAD_PROPERTY))) return null;
        return Thread.ofPlatform().daemon().name("libc-link-ahead").start(() -> {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            for (Class<?> holder : LINKED_AHEAD) {
                try {
                    lookup.ensureInitialized(holder);
                } catch (IllegalAccessException | RuntimeException | LinkageError e) {
                    // The caller's own first call reports the failure, in its own words.
                    return;
                }
            }
        });
    }

    /** One errno capture buffer per thread, so concurrent vCPU threads never share one. */
    private static final ThreadLocal<MemorySegment> CAPTURE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private Libc() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor fd, boolean captureErrno, int firstVariadic) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        Linker.Option[] options;
        if (captureErrno && firstVariadic >= 0) {
            options = new Linker.Option[] {CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadic)};
        } else if (captureErrno) {
            options = new Linker.Option[] {CAPTURE_ERRNO};
        } else if (firstVariadic >= 0) {
            options = new Linker.Option[] {Linker.Option.firstVariadicArg(firstVariadic)};
        } else {
            options = new Linker.Option[0];
        }
        return LINKER.downcallHandle(symbol, fd, options);
    }

    private static int lastErrno(MemorySegment capture) {
        return (int) ERRNO.get(capture, 0L);
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    /** Opens a file; {@code call} names it in errors (for example {@code open /dev/kvm}). */
    public static int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cpath = arena.allocateFrom(path);
            MemorySegment capture = CAPTURE.get();
            int fd = (int) Open.HANDLE.invokeExact(capture, cpath, flags, mode);
            if (fd < 0) throw new NativeCallException("open " + path, lastErrno(capture));
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Closes a descriptor; errors on close are ignored, as the descriptor is gone either way. */
    public static void close(int fd) {
        try {
            int ignored = (int) Close.HANDLE.invokeExact(CAPTURE.get(), fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Reads up to {@code length} bytes into {@code buf}; returns the count, or -1 on {@code EAGAIN}. */
    public static long read(int fd, MemorySegment buf, long length) {
        try {
            MemorySegment capture = CAPTURE.get();
            while (true) {
                long n = (long) Read.HANDLE.invokeExact(capture, fd, buf, Math.min(length, buf.byteSize()));
                if (n >= 0) return n;
                int errno = lastErrno(capture);
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EAGAIN) return -1;
                throw new NativeCallException("read", errno);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Writes up to {@code length} bytes of {@code buf}; returns the count, or -1 on {@code EAGAIN}. */
    public static long write(int fd, MemorySegment buf, long length) {
        try {
            MemorySegment capture = CAPTURE.get();
            while (true) {
                long n = (long) Write.HANDLE.invokeExact(capture, fd, buf, Math.min(length, buf.byteSize()));
                if (n >= 0) return n;
                int errno = lastErrno(capture);
                if (errno == Errno.EINTR) continue;
                if (errno == Errno.EAGAIN) return -1;
                throw new NativeCallException("write", errno);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, arg)} with an integer argument; returns the call's result. */
    public static int ioctl(String name, int fd, long request, long arg) {
        try {
            MemorySegment capture = CAPTURE.get();
            int r = (int) IoctlAddr.HANDLE.invokeExact(capture, fd, request, MemorySegment.ofAddress(arg));
            if (r < 0) throw new NativeCallException(name, lastErrno(capture));
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code ioctl(fd, request, &struct)}; returns the call's result. */
    public static int ioctl(String name, int fd, long request, MemorySegment arg) {
        try {
            MemorySegment capture = CAPTURE.get();
            int r = (int) IoctlAddr.HANDLE.invokeExact(capture, fd, request, arg);
            if (r < 0) throw new NativeCallException(name, lastErrno(capture));
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * {@code ioctl} that reports the errno instead of throwing: returns the result, or
     * {@code -errno} on failure. For calls whose failure is an expected outcome
     * ({@code KVM_RUN} interrupted by a signal answers {@code -EINTR}).
     */
    public static int ioctlErrno(int fd, long request, long arg) {
        try {
            MemorySegment capture = CAPTURE.get();
            int r = (int) IoctlAddr.HANDLE.invokeExact(capture, fd, request, MemorySegment.ofAddress(arg));
            return r < 0 ? -lastErrno(capture) : r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Maps memory and returns it as a segment of exactly {@code length} bytes.
     *
     * <p>mmap answers a zero-length address; giving it a size is safe because the kernel has just
     * mapped that many bytes at it, and the segment must be {@link #munmap unmapped} by the owner
     * before it is dropped (its scope is global, so a use after unmap is the owner's bug).
     */
    public static MemorySegment mmap(String name, long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment capture = CAPTURE.get();
            MemorySegment p = (MemorySegment) Mmap.HANDLE.invokeExact(capture, MemorySegment.NULL, length, prot, flags, fd, offset);
            if (p.address() == -1L) throw new NativeCallException(name, lastErrno(capture));
            return p.reinterpret(length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    public static void munmap(MemorySegment mapping) {
        try {
            MemorySegment capture = CAPTURE.get();
            int r = (int) Munmap.HANDLE.invokeExact(capture, mapping, mapping.byteSize());
            if (r < 0) throw new NativeCallException("munmap", lastErrno(capture));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }



    public static final short POLLIN = 0x1;
    private static final short POLLERR = 0x8;
    private static final short POLLHUP = 0x10;
    private static final short POLLNVAL = 0x20;

    /**
     * Waits until {@code fd} is readable or {@code timeoutMillis} pass; returns whether a read
     * would not block: data, end of file (POLLHUP) or an error (POLLERR, POLLNVAL) all count, so
     * that the caller's read reports them. An interrupted wait counts as "not yet".
     */
    public static boolean pollIn(int fd, int timeoutMillis) {
        return pollIn(new int[] {fd}, timeoutMillis) != 0;
    }

    /**
     * Waits up to {@code timeoutMillis} (-1: for ever) until one of {@code fds} (at most 64) has
     * input, or an error or hang-up for the caller's read to report; returns the ready ones as bits
     * (bit i for {@code fds[i]}), 0 when none is ready or an interrupt ended the wait.
     */
    public static long pollIn(int[] fds, int timeoutMillis) {
        if (fds.length == 0 || fds.length > 64) throw new IllegalArgumentException("poll: " + fds.length + " descriptors, not 1 to 64");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pfds = arena.allocate(8L * fds.length, 4);
            for (int i = 0; i < fds.length; i++) {
                pfds.set(INT, 8L * i, fds[i]);
                pfds.set(ValueLayout.JAVA_SHORT, 8L * i + 4, POLLIN);
                pfds.set(ValueLayout.JAVA_SHORT, 8L * i + 6, (short) 0);
            }
            MemorySegment capture = CAPTURE.get();
            int r = (int) Poll.HANDLE.invokeExact(capture, pfds, (long) fds.length, timeoutMillis);
            if (r < 0) {
                int errno = lastErrno(capture);
                if (errno == Errno.EINTR) return 0;
                throw new NativeCallException("poll", errno);
            }
            long ready = 0;
            for (int i = 0; i < fds.length && r > 0; i++) {
                if ((pfds.get(ValueLayout.JAVA_SHORT, 8L * i + 6) & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) != 0) ready |= 1L << i;
            }
            return ready;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code eventfd(initval, flags)}: a new event counter's descriptor. */
    public static int eventfd(int initialValue, int flags) {
        try {
            MemorySegment capture = CAPTURE.get();
            int fd = (int) Eventfd.HANDLE.invokeExact(capture, initialValue, flags);
            if (fd < 0) throw new NativeCallException("eventfd", lastErrno(capture));
            return fd;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }


    public static boolean isatty(int fd) {
        try {
            return (int) Isatty.HANDLE.invokeExact(CAPTURE.get(), fd) == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }



    /**
     * Makes this process the leader of a new session with no controlling terminal, so that a
     * hang-up or a signal to its parent's session or process group does not reach it; returns
     * the new session's id.
     *
     * @throws NativeCallException EPERM if this process already leads a process group
     */
    public static int setsid() {
        try {
            MemorySegment capture = CAPTURE.get();
            int r = (int) Setsid.HANDLE.invokeExact(capture);
            if (r < 0) throw new NativeCallException("setsid", lastErrno(capture));
            return r;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** {@code setpriority}'s {@code which} for one task: on Linux a thread id, whose nice value is its own. */
    private static final int PRIO_PROCESS = 0;

    /**
     * Sets the nice value of thread {@code tid} (a Linux thread id, as in {@code /proc/self/task}).
     *
     * @throws NativeCallException EACCES lowering it without CAP_SYS_NICE, ESRCH for a thread that ended
     */
    public static void setThreadNice(int tid, int nice) {
        try {
            MemorySegment capture = CAPTURE.get();
            int r = (int) Setpriority.HANDLE.invokeExact(capture, PRIO_PROCESS, tid, nice);
            if (r < 0) throw new NativeCallException("setpriority", lastErrno(capture));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The calling thread's pthread handle, for {@link #pthreadKill}. */
    public static long pthreadSelf() {
        try {
            return (long) PthreadSelf.HANDLE.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Sends {@code signal} to one thread of this process (to kick a vCPU out of {@code KVM_RUN}). */
    public static void pthreadKill(long thread, int signal) {
        try {
            int r = (int) PthreadKill.HANDLE.invokeExact(thread, signal);
            if (r != 0) throw new NativeCallException("pthread_kill", r);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) Strerror.HANDLE.invokeExact(errno);
            // strerror returns a NUL-terminated string in static storage; 256 bytes bounds the scan.
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
