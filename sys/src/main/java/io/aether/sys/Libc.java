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
import java.lang.ref.Reference;
import java.util.Arrays;
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
    /** {@code madvise}: never merge this range's pages with other identical pages (KSM), and split any merged. */
    public static final int MADV_UNMERGEABLE = 13;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final MemoryLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    /** The arguments of {@link Call}'s one shape: the most any call here passes (mmap's six). */
    static final int CALL_ARGUMENTS = 6;

    /**
     * The one downcall shape every function here is called through: {@code long f(long x 6)},
     * errno captured, the function's address the first parameter. Each distinct shape makes the
     * FFM linker spin a stub and about ten method handle classes (no AOT cache holds them: tens of
     * milliseconds each interpreted on x86, 20-30 times that on an emulated arm64 host,
     * docs/BENCHMARKS.md (f)); one shape spins them once. It is sound on the 64-bit Linux ABIs this runs on (x86-64 SysV,
     * AArch64 AAPCS64): an int, a pointer or a long argument each travel in one general register,
     * a callee that takes an int reads only its low half, one that takes fewer arguments never
     * reads the rest, and an int result is the low half of the result register (hence the int
     * casts). Declared variadic so that x86-64 gets AL, the vector register count a variadic
     * callee (open, ioctl) reads; non-variadic callees ignore it, and AArch64 Linux passes
     * variadic arguments as any others.
     */
    private static final class Call {
        static final MethodHandle HANDLE;

        static {
            ValueLayout.OfLong word = ValueLayout.JAVA_LONG;
            ValueLayout[] arguments = new ValueLayout[CALL_ARGUMENTS];
            Arrays.fill(arguments, word);
            HANDLE = LINKER.downcallHandle(FunctionDescriptor.of(word, arguments),
                    Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(2));
        }
    }

    /** The C library's functions, looked up together (a symbol lookup is cheap; linking is not). */
    static final class Functions {
        static final MemorySegment OPEN = symbol("open");
        static final MemorySegment CLOSE = symbol("close");
        static final MemorySegment READ = symbol("read");
        static final MemorySegment WRITE = symbol("write");
        static final MemorySegment IOCTL = symbol("ioctl");
        static final MemorySegment MMAP = symbol("mmap");
        static final MemorySegment MUNMAP = symbol("munmap");
        static final MemorySegment POLL = symbol("poll");
        static final MemorySegment EVENTFD = symbol("eventfd");
        static final MemorySegment STRERROR = symbol("strerror");
        static final MemorySegment ISATTY = symbol("isatty");
        static final MemorySegment SETSID = symbol("setsid");
        static final MemorySegment SETPRIORITY = symbol("setpriority");
        static final MemorySegment PTHREAD_SELF = symbol("pthread_self");
        static final MemorySegment PTHREAD_KILL = symbol("pthread_kill");
        static final MemorySegment SIGACTION = symbol("sigaction");
        static final MemorySegment GETPID = symbol("getpid");
        static final MemorySegment MADVISE = symbol("madvise");
        static final MemorySegment PRCTL = symbol("prctl");

        private static MemorySegment symbol(String name) {
            return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        }
    }

    /**
     * The holders {@link #linkAhead} initializes: the function addresses, then the one downcall
     * shape, which the main thread's first call (opening /dev/kvm) waits for if it comes first.
     */
    static final List<Class<?>> LINKED_AHEAD = List.of(Functions.class, Call.class);

    /** {@code off} turns {@link #linkAhead} off (to compare). */
    public static final String LINK_AHEAD_PROPERTY = "aether.libc.linkAhead";

    /**
     * Links the monitor's one downcall shape ({@link Call}) on a thread of its own while the caller
     * goes on: linking spins method handle classes that no AOT cache holds (slow under an emulated
     * arm64 host: docs/BENCHMARKS.md (f)), which the VM's creation no longer waits for.
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

    /** {@code function(a, b, c)} through {@link Call}; errno lands in {@code capture}. */
    private static long call(MemorySegment function, MemorySegment capture, long a, long b, long c) {
        return call(function, capture, a, b, c, 0, 0, 0);
    }

    private static long call(MemorySegment function, MemorySegment capture, long a, long b, long c, long d, long e, long f) {
        try {
            return (long) Call.HANDLE.invokeExact(function, capture, a, b, c, d, e, f);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * A segment's address as a call's argument: native memory whose arena is open (what the FFM
     * linker checks for an address argument). The caller keeps the segment reachable until the
     * call returns ({@link Reference#reachabilityFence}), so that no automatic arena frees it meanwhile.
     */
    static long addressOf(MemorySegment segment) {
        if (!segment.isNative()) throw new IllegalArgumentException("a native call needs native memory, not a heap segment");
        if (!segment.scope().isAlive()) throw new IllegalStateException("a native call's memory is already freed");
        return segment.address();
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
            int fd = (int) call(Functions.OPEN, capture, cpath.address(), flags, mode);
            if (fd < 0) throw new NativeCallException("open " + path, lastErrno(capture));
            return fd;
        }
    }

    /** Closes a descriptor; errors on close are ignored, as the descriptor is gone either way. */
    public static void close(int fd) {
        call(Functions.CLOSE, CAPTURE.get(), fd, 0, 0);
    }

    /** Reads up to {@code length} bytes into {@code buf}; returns the count, or -1 on {@code EAGAIN}. */
    public static long read(int fd, MemorySegment buf, long length) {
        MemorySegment capture = CAPTURE.get();
        while (true) {
            long n = call(Functions.READ, capture, fd, addressOf(buf), Math.min(length, buf.byteSize()));
            Reference.reachabilityFence(buf);
            if (n >= 0) return n;
            int errno = lastErrno(capture);
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN) return -1;
            throw new NativeCallException("read", errno);
        }
    }

    /** Writes up to {@code length} bytes of {@code buf}; returns the count, or -1 on {@code EAGAIN}. */
    public static long write(int fd, MemorySegment buf, long length) {
        MemorySegment capture = CAPTURE.get();
        while (true) {
            long n = call(Functions.WRITE, capture, fd, addressOf(buf), Math.min(length, buf.byteSize()));
            Reference.reachabilityFence(buf);
            if (n >= 0) return n;
            int errno = lastErrno(capture);
            if (errno == Errno.EINTR) continue;
            if (errno == Errno.EAGAIN) return -1;
            throw new NativeCallException("write", errno);
        }
    }

    /** {@code ioctl(fd, request, arg)} with an integer argument; returns the call's result. */
    public static int ioctl(String name, int fd, long request, long arg) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.IOCTL, capture, fd, request, arg);
        if (r < 0) throw new NativeCallException(name, lastErrno(capture));
        return r;
    }

    /** {@code ioctl(fd, request, &struct)}; returns the call's result. */
    public static int ioctl(String name, int fd, long request, MemorySegment arg) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.IOCTL, capture, fd, request, addressOf(arg));
        Reference.reachabilityFence(arg);
        if (r < 0) throw new NativeCallException(name, lastErrno(capture));
        return r;
    }

    /**
     * {@code ioctl} that reports the errno instead of throwing: returns the result, or
     * {@code -errno} on failure. For calls whose failure is an expected outcome
     * ({@code KVM_RUN} interrupted by a signal answers {@code -EINTR}).
     */
    public static int ioctlErrno(int fd, long request, long arg) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.IOCTL, capture, fd, request, arg);
        return r < 0 ? -lastErrno(capture) : r;
    }

    /**
     * Maps memory and returns it as a segment of exactly {@code length} bytes.
     *
     * <p>mmap answers a zero-length address; giving it a size is safe because the kernel has just
     * mapped that many bytes at it, and the segment must be {@link #munmap unmapped} by the owner
     * before it is dropped (its scope is global, so a use after unmap is the owner's bug).
     */
    public static MemorySegment mmap(String name, long length, int prot, int flags, int fd, long offset) {
        MemorySegment capture = CAPTURE.get();
        long p = call(Functions.MMAP, capture, 0, length, prot, flags, fd, offset);
        if (p == -1L) throw new NativeCallException(name, lastErrno(capture));
        return MemorySegment.ofAddress(p).reinterpret(length);
    }

    public static void munmap(MemorySegment mapping) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.MUNMAP, capture, addressOf(mapping), mapping.byteSize(), 0);
        if (r < 0) throw new NativeCallException("munmap", lastErrno(capture));
    }

    /** {@code madvise(mapping, its size, advice)}; {@code name} names the call in errors. */
    public static void madvise(String name, MemorySegment mapping, int advice) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.MADVISE, capture, addressOf(mapping), mapping.byteSize(), advice);
        if (r < 0) throw new NativeCallException(name, lastErrno(capture));
    }

    /** {@code prctl}'s option for all of a process's anonymous memory mergeable by KSM (Linux 6.4). */
    private static final int PR_SET_MEMORY_MERGE = 67;

    /**
     * Makes every anonymous page of this process, present and future, a candidate for the
     * kernel's same-page merging (KSM): pages equal to another process's are then shared until
     * written. A mapping advised {@link #MADV_UNMERGEABLE} afterwards stays out.
     *
     * @throws NativeCallException EINVAL where the kernel has no KSM or predates 6.4, EPERM where it is refused
     */
    public static void setMemoryMerge(boolean merge) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.PRCTL, capture, PR_SET_MEMORY_MERGE, merge ? 1 : 0, 0);
        if (r < 0) throw new NativeCallException("prctl(PR_SET_MEMORY_MERGE)", lastErrno(capture));
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
            int r = (int) call(Functions.POLL, capture, pfds.address(), fds.length, timeoutMillis);
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
        }
    }

    /** {@code eventfd(initval, flags)}: a new event counter's descriptor. */
    public static int eventfd(int initialValue, int flags) {
        MemorySegment capture = CAPTURE.get();
        int fd = (int) call(Functions.EVENTFD, capture, initialValue, flags, 0);
        if (fd < 0) throw new NativeCallException("eventfd", lastErrno(capture));
        return fd;
    }

    public static boolean isatty(int fd) {
        return (int) call(Functions.ISATTY, CAPTURE.get(), fd, 0, 0) == 1;
    }

    /**
     * Makes this process the leader of a new session with no controlling terminal, so that a
     * hang-up or a signal to its parent's session or process group does not reach it; returns
     * the new session's id.
     *
     * @throws NativeCallException EPERM if this process already leads a process group
     */
    public static int setsid() {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.SETSID, capture, 0, 0, 0);
        if (r < 0) throw new NativeCallException("setsid", lastErrno(capture));
        return r;
    }

    /** {@code setpriority}'s {@code which} for one task: on Linux a thread id, whose nice value is its own. */
    private static final int PRIO_PROCESS = 0;

    /**
     * Sets the nice value of thread {@code tid} (a Linux thread id, as in {@code /proc/self/task}).
     *
     * @throws NativeCallException EACCES lowering it without CAP_SYS_NICE, ESRCH for a thread that ended
     */
    public static void setThreadNice(int tid, int nice) {
        MemorySegment capture = CAPTURE.get();
        int r = (int) call(Functions.SETPRIORITY, capture, PRIO_PROCESS, tid, nice);
        if (r < 0) throw new NativeCallException("setpriority", lastErrno(capture));
    }

    /** The calling thread's pthread handle, for {@link #pthreadKill}. */
    public static long pthreadSelf() {
        return call(Functions.PTHREAD_SELF, CAPTURE.get(), 0, 0, 0);
    }

    /** Sends {@code signal} to one thread of this process (to kick a vCPU out of {@code KVM_RUN}). */
    public static void pthreadKill(long thread, int signal) {
        int r = (int) call(Functions.PTHREAD_KILL, CAPTURE.get(), thread, signal, 0);
        if (r != 0) throw new NativeCallException("pthread_kill", r);
    }

    /**
     * {@code sigaction(signal, action, NULL)}: installs {@code action} (a {@code struct sigaction}),
     * the old one not asked for; returns the call's result.
     */
    static int sigaction(int signal, MemorySegment action) {
        int r = (int) call(Functions.SIGACTION, CAPTURE.get(), signal, addressOf(action), 0);
        Reference.reachabilityFence(action);
        return r;
    }

    static String strerror(int errno) {
        long s = call(Functions.STRERROR, CAPTURE.get(), errno, 0, 0);
        // strerror returns a NUL-terminated string in static storage; 256 bytes bounds the scan.
        return MemorySegment.ofAddress(s).reinterpret(256).getString(0);
    }
}
