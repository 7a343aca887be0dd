package io.aether.kvm;

import io.aether.sys.Errno;
import io.aether.sys.Libc;
import io.aether.sys.NativeCallException;
import io.aether.sys.Signals;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A vCPU file descriptor, its shared {@code struct kvm_run} page, and the vCPU ioctls.
 *
 * <p>All methods but {@link #kick()} belong to the one thread that runs this vCPU.
 */
public final class Vcpu implements AutoCloseable {

    // struct kvm_run offsets (include/uapi/linux/kvm.h)
    private static final long RUN_IMMEDIATE_EXIT = 1;
    private static final long RUN_EXIT_REASON = 8;
    private static final long RUN_EXIT = 32;

    // KVM_EXIT_* reasons decoded here
    private static final int EXIT_UNKNOWN = 0;
    private static final int EXIT_IO = 2;
    private static final int EXIT_HLT = 5;
    private static final int EXIT_MMIO = 6;
    private static final int EXIT_SHUTDOWN = 8;
    private static final int EXIT_FAIL_ENTRY = 9;
    private static final int EXIT_INTR = 10;
    private static final int EXIT_INTERNAL_ERROR = 17;
    private static final int EXIT_SYSTEM_EVENT = 24;

    /** {@code KVM_MP_STATE_RUNNABLE}: the vCPU runs when entered. */
    public static final int MP_STATE_RUNNABLE = 0;
    /** {@code KVM_MP_STATE_STOPPED}: arm64, powered off until PSCI CPU_ON starts it. */
    public static final int MP_STATE_STOPPED = 5;

    private final int id;
    private final int fd;
    private final MemorySegment run;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment regsBuffer;
    private final MemorySegment sregsBuffer;
    private volatile long thread;
    /**
     * Guards kvm_run's mapping against a kick from another thread: a stop request's kick can come
     * after the vCPU's thread saw the stop on its own and the VM was closed, and writing to the
     * unmapped page would crash the JVM.
     */
    private final Object mapping = new Object();
    private boolean closed;

    Vcpu(int id, int fd, int mmapSize) {
        this.id = id;
        this.fd = fd;
        this.run = Libc.mmap("mmap kvm_run of vCPU " + id, mmapSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        this.regsBuffer = arena.allocate(Structs.REGS_SIZE, 8);
        this.sregsBuffer = arena.allocate(Structs.SREGS_SIZE, 8);
    }

    public int id() {
        return id;
    }

    public Regs regs() {
        Libc.ioctl("KVM_GET_REGS", fd, Ioctls.KVM_GET_REGS, regsBuffer);
        return Structs.readRegs(regsBuffer);
    }

    public void setRegs(Regs regs) {
        Structs.writeRegs(regsBuffer, regs);
        Libc.ioctl("KVM_SET_REGS", fd, Ioctls.KVM_SET_REGS, regsBuffer);
    }

    public Sregs sregs() {
        Libc.ioctl("KVM_GET_SREGS", fd, Ioctls.KVM_GET_SREGS, sregsBuffer);
        return Structs.readSregs(sregsBuffer);
    }

    /** Sets the special registers; the interrupt bitmap keeps what the last {@link #sregs()} read. */
    public void setSregs(Sregs sregs) {
        Structs.writeSregs(sregsBuffer, sregs);
        Libc.ioctl("KVM_SET_SREGS", fd, Ioctls.KVM_SET_SREGS, sregsBuffer);
    }

    public void setCpuid(List<CpuidEntry> entries) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(8 + entries.size() * Structs.CPUID_ENTRY_SIZE, 8);
            Structs.writeCpuid(s, entries);
            Libc.ioctl("KVM_SET_CPUID2", fd, Ioctls.KVM_SET_CPUID2, s);
        }
    }

    /** Sets the MSRs; fails naming the first one KVM refused. */
    public void setMsrs(List<MsrEntry> msrs) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(8 + msrs.size() * Structs.MSR_ENTRY_SIZE, 8);
            Structs.writeMsrs(s, msrs);
            int set = Libc.ioctl("KVM_SET_MSRS", fd, Ioctls.KVM_SET_MSRS, s);
            if (set != msrs.size()) {
                throw new IllegalStateException("KVM_SET_MSRS refused MSR 0x" + Integer.toHexString(msrs.get(set).index())
                        + " (set " + set + " of " + msrs.size() + ")");
            }
        }
    }

    public List<MsrEntry> msrs(List<Integer> indices) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(8 + indices.size() * Structs.MSR_ENTRY_SIZE, 8);
            Structs.writeMsrs(s, indices.stream().map(i -> new MsrEntry(i, 0)).toList());
            int got = Libc.ioctl("KVM_GET_MSRS", fd, Ioctls.KVM_GET_MSRS, s);
            return Structs.readMsrs(s, got);
        }
    }

    /** Sets the x87 control word and MXCSR (the rest of the FPU state zero). */
    public void setFpu(int fcw, int mxcsr) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Structs.FPU_SIZE, 8);
            s.set(Structs.U16, Structs.FPU_FCW, (short) fcw);
            s.set(Structs.U32, Structs.FPU_MXCSR, mxcsr);
            Libc.ioctl("KVM_SET_FPU", fd, Ioctls.KVM_SET_FPU, s);
        }
    }

    /** The in-kernel LAPIC's 1 KiB register page. */
    public byte[] lapic() {
        return read("KVM_GET_LAPIC", Ioctls.KVM_GET_LAPIC, (int) Structs.LAPIC_SIZE);
    }

    public void setLapic(byte[] registers) {
        write("KVM_SET_LAPIC", Ioctls.KVM_SET_LAPIC, registers, (int) Structs.LAPIC_SIZE);
    }

    /** The vCPU's multiprocessing state ({@code KVM_GET_MP_STATE}), e.g. {@link #MP_STATE_STOPPED}. */
    public int mpState() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(4);
            Libc.ioctl("KVM_GET_MP_STATE", fd, Ioctls.KVM_GET_MP_STATE, s);
            return s.get(Structs.U32, 0);
        }
    }

    public void setMpState(int state) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(4);
            s.set(Structs.U32, 0, state);
            Libc.ioctl("KVM_SET_MP_STATE", fd, Ioctls.KVM_SET_MP_STATE, s);
        }
    }

    /** {@code struct kvm_xsave}: the x87, SSE and AVX state in the XSAVE layout (needs {@link Capability#XSAVE}). */
    public byte[] xsave() {
        return read("KVM_GET_XSAVE", Ioctls.KVM_GET_XSAVE, Structs.XSAVE_SIZE);
    }

    public void setXsave(byte[] region) {
        write("KVM_SET_XSAVE", Ioctls.KVM_SET_XSAVE, region, Structs.XSAVE_SIZE);
    }

    /** {@code struct kvm_xcrs}: the extended control registers (XCR0), needs {@link Capability#XCRS}. */
    public byte[] xcrs() {
        return read("KVM_GET_XCRS", Ioctls.KVM_GET_XCRS, Structs.XCRS_SIZE);
    }

    public void setXcrs(byte[] xcrs) {
        write("KVM_SET_XCRS", Ioctls.KVM_SET_XCRS, xcrs, Structs.XCRS_SIZE);
    }

    /**
     * {@code struct kvm_vcpu_events}: pending or injected exception, interrupt and NMI, SIPI
     * vector, SMM state. It also holds the interrupt the sregs' interrupt bitmap would report.
     */
    public byte[] vcpuEvents() {
        return read("KVM_GET_VCPU_EVENTS", Ioctls.KVM_GET_VCPU_EVENTS, Structs.VCPU_EVENTS_SIZE);
    }

    public void setVcpuEvents(byte[] events) {
        write("KVM_SET_VCPU_EVENTS", Ioctls.KVM_SET_VCPU_EVENTS, events, Structs.VCPU_EVENTS_SIZE);
    }

    /** {@code struct kvm_debugregs}: DR0-3, DR6, DR7. */
    public byte[] debugRegs() {
        return read("KVM_GET_DEBUGREGS", Ioctls.KVM_GET_DEBUGREGS, Structs.DEBUGREGS_SIZE);
    }

    public void setDebugRegs(byte[] registers) {
        write("KVM_SET_DEBUGREGS", Ioctls.KVM_SET_DEBUGREGS, registers, Structs.DEBUGREGS_SIZE);
    }

    /**
     * Everything KVM holds for this vCPU, with the MSRs {@code msrIndices} (each one the host
     * supports: see {@link Kvm#msrIndexList()}). After an I/O or MMIO exit the instruction is only
     * complete once KVM_RUN is entered again: {@link #kick()} and {@link #run()} first, which
     * returns {@link VcpuExit.Interrupted} at once.
     */
    public VcpuState state(List<Integer> msrIndices) {
        return state(msrIndices, true);
    }

    /**
     * As {@link #state(List)}; without {@code withLapic} (a VM without the in-kernel irqchip, which
     * has no LAPIC to read) the state's LAPIC is empty.
     */
    public VcpuState state(List<Integer> msrIndices, boolean withLapic) {
        List<MsrEntry> msrs = msrs(msrIndices);
        if (msrs.size() != msrIndices.size()) {
            throw new IllegalStateException("KVM_GET_MSRS could not read MSR 0x" + Integer.toHexString(msrIndices.get(msrs.size()))
                    + " (read " + msrs.size() + " of " + msrIndices.size() + ")");
        }
        return new VcpuState(regs(), sregs(), xsave(), xcrs(), msrs, withLapic ? lapic() : new byte[0], vcpuEvents(), mpState(),
                debugRegs());
    }

    /**
     * Loads {@code state} into this vCPU, which must not be running. The order matters: the APIC
     * base (sregs) before the LAPIC, the LAPIC before the MSRs (TSC deadline), the events last,
     * since setting sregs may queue an interrupt that the events then state exactly.
     */
    public void restore(VcpuState state) {
        sregs(); // setSregs keeps the interrupt bitmap it read; the events below carry the pending interrupt
        setSregs(state.sregs());
        setRegs(state.regs());
        setXsave(state.xsave());
        setXcrs(state.xcrs());
        if (state.lapic().length != 0) setLapic(state.lapic());
        setMsrs(state.msrs());
        setDebugRegs(state.debugRegs());
        setMpState(state.mpState());
        setVcpuEvents(state.vcpuEvents());
    }

    private byte[] read(String name, long request, int size) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size, 8);
            Libc.ioctl(name, fd, request, s);
            return s.toArray(Structs.U8);
        }
    }

    private void write(String name, long request, byte[] value, int size) {
        if (value.length != size) throw new IllegalArgumentException(name + ": " + value.length + " bytes, expected " + size);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(size, 8);
            MemorySegment.copy(value, 0, s, Structs.U8, 0, size);
            Libc.ioctl(name, fd, request, s);
        }
    }

    /**
     * arm64: initialises the vCPU ({@code KVM_ARM_VCPU_INIT}) as {@code target} (from
     * {@link Vm#armPreferredTarget}) with PSCI 0.2 and later, which KVM serves itself over HVC.
     * A secondary vCPU starts {@code poweredOff}, until the guest starts it with PSCI CPU_ON.
     * Afterwards PSTATE is EL1h with DAIF masked and the other core registers are zero.
     */
    public void armInit(int target, boolean poweredOff) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Arm64.VCPU_INIT);
            s.set(Structs.U32, 0, target);
            int features = 1 << Arm64.VCPU_FEATURE_PSCI_0_2;
            if (poweredOff) {
                features |= 1 << Arm64.VCPU_FEATURE_POWER_OFF;
            }
            s.set(Structs.U32, 4, features);
            Libc.ioctl("KVM_ARM_VCPU_INIT", fd, Arm64.KVM_ARM_VCPU_INIT, s);
        }
    }

    /** arm64: reads {@code register} ({@code KVM_GET_ONE_REG}). */
    public long register(Arm64Register register) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment value = a.allocate(Structs.U64);
            Libc.ioctl("KVM_GET_ONE_REG " + register.name(), fd, Arm64.KVM_GET_ONE_REG, oneReg(a, register, value));
            return value.get(Structs.U64, 0);
        }
    }

    /** arm64: writes {@code register} ({@code KVM_SET_ONE_REG}). */
    public void setRegister(Arm64Register register, long value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(Structs.U64);
            v.set(Structs.U64, 0, value);
            Libc.ioctl("KVM_SET_ONE_REG " + register.name(), fd, Arm64.KVM_SET_ONE_REG, oneReg(a, register, v));
        }
    }

    /** {@code struct kvm_one_reg} naming {@code register} and the 8 bytes at {@code value}. */
    private static MemorySegment oneReg(Arena a, Arm64Register register, MemorySegment value) {
        MemorySegment s = a.allocate(Arm64.ONE_REG);
        s.set(Structs.U64, 0, register.id());
        s.set(Structs.U64, 8, value.address());
        return s;
    }

    /**
     * arm64: has KVM stop the guest with {@code KVM_EXIT_DEBUG} after every instruction
     * ({@code singleStep}) and at every {@code BRK} ({@code KVM_SET_GUEST_DEBUG}, software
     * breakpoints); both false hands debug events back to the guest.
     */
    public void armSetGuestDebug(boolean singleStep, boolean softwareBreakpoints) {
        int control = 0;
        if (singleStep) control |= Arm64.GUESTDBG_ENABLE | Arm64.GUESTDBG_SINGLESTEP;
        if (softwareBreakpoints) control |= Arm64.GUESTDBG_ENABLE | Arm64.GUESTDBG_USE_SW_BP;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(Arm64.GUEST_DEBUG);
            s.set(Structs.U32, 0, control);
            Libc.ioctl("KVM_SET_GUEST_DEBUG", fd, Arm64.KVM_SET_GUEST_DEBUG, s);
        }
    }

    /** Remembers the calling thread as this vCPU's, so that {@link #kick()} can reach it. */
    public void bindToCurrentThread() {
        Signals.installKickHandler();
        thread = Libc.pthreadSelf();
    }

    /**
     * Makes the vCPU's thread leave {@code KVM_RUN} soon: now if it is inside, at once if it is
     * about to enter. Safe from any thread.
     */
    public void kick() {
        synchronized (mapping) {
            if (closed) return; // its thread has ended: nothing to kick
            run.set(Structs.U8, RUN_IMMEDIATE_EXIT, (byte) 1);
        }
        long t = thread;
        if (t != 0) {
            try {
                Libc.pthreadKill(t, Signals.KICK);
            } catch (NativeCallException e) {
                // The thread has already ended (ESRCH): nothing to kick.
            }
        }
    }

    /** Enters the guest until the next exit and decodes it. */
    public VcpuExit run() {
        int r = Libc.ioctlErrno(fd, Ioctls.KVM_RUN, 0);
        if (r < 0) {
            if (r == -Errno.EINTR || r == -Errno.EAGAIN) {
                run.set(Structs.U8, RUN_IMMEDIATE_EXIT, (byte) 0);
                return new VcpuExit.Interrupted();
            }
            throw new NativeCallException("KVM_RUN", -r);
        }
        return decode(run);
    }

    /** Hands the data of an {@link VcpuExit.IoIn} or {@link VcpuExit.MmioRead} back to the guest. */
    public void complete(VcpuExit exit) {
        // Ifs, not a pattern switch, which would spin a class (no AOT cache holds it) on the guest's first exit.
        if (exit instanceof VcpuExit.MmioRead read) {
            MemorySegment.copy(read.data(), 0, run, Structs.U8, RUN_EXIT + 8, read.data().length);
        } else if (exit instanceof VcpuExit.IoIn in) {
            long offset = run.get(Structs.U64, RUN_EXIT + 8);
            MemorySegment.copy(in.data(), 0, run, Structs.U8, offset, in.data().length);
        }
    }

    /** Decodes {@code struct kvm_run} after an exit. Sizes come from KVM, but are checked anyway. */
    static VcpuExit decode(MemorySegment run) {
        int reason = run.get(Structs.U32, RUN_EXIT_REASON);
        return switch (reason) {
            case EXIT_IO -> {
                int direction = Byte.toUnsignedInt(run.get(Structs.U8, RUN_EXIT));
                int size = Byte.toUnsignedInt(run.get(Structs.U8, RUN_EXIT + 1));
                int port = Short.toUnsignedInt(run.get(Structs.U16, RUN_EXIT + 2));
                int count = run.get(Structs.U32, RUN_EXIT + 4);
                long offset = run.get(Structs.U64, RUN_EXIT + 8);
                long length = (long) size * count;
                if (size == 0 || count <= 0 || offset < 0 || length > run.byteSize() || offset > run.byteSize() - length) {
                    yield new VcpuExit.Unsupported(reason);
                }
                byte[] data = new byte[(int) length];
                if (direction == 1) {
                    MemorySegment.copy(run, Structs.U8, offset, data, 0, data.length);
                    yield new VcpuExit.IoOut(port, size, count, data);
                }
                yield new VcpuExit.IoIn(port, size, count, data);
            }
            case EXIT_MMIO -> {
                long address = run.get(Structs.U64, RUN_EXIT);
                int len = Math.min(8, Math.max(0, run.get(Structs.U32, RUN_EXIT + 16)));
                boolean write = run.get(Structs.U8, RUN_EXIT + 20) != 0;
                byte[] data = new byte[len];
                if (write) {
                    MemorySegment.copy(run, Structs.U8, RUN_EXIT + 8, data, 0, len);
                    yield new VcpuExit.MmioWrite(address, data);
                }
                yield new VcpuExit.MmioRead(address, data);
            }
            case EXIT_HLT -> new VcpuExit.Hlt();
            case EXIT_SHUTDOWN -> new VcpuExit.Shutdown();
            case EXIT_FAIL_ENTRY -> new VcpuExit.FailEntry(run.get(Structs.U64, RUN_EXIT), run.get(Structs.U32, RUN_EXIT + 8));
            case EXIT_INTR -> new VcpuExit.Interrupted();
            case EXIT_INTERNAL_ERROR -> {
                int ndata = Math.min(16, Math.max(0, run.get(Structs.U32, RUN_EXIT + 4)));
                long[] data = new long[ndata];
                for (int i = 0; i < ndata; i++) data[i] = run.get(Structs.U64, RUN_EXIT + 8 + i * 8L);
                yield new VcpuExit.InternalError(run.get(Structs.U32, RUN_EXIT), data);
            }
            case EXIT_SYSTEM_EVENT -> {
                int ndata = Math.min(16, Math.max(0, run.get(Structs.U32, RUN_EXIT + 4)));
                long[] data = new long[ndata];
                for (int i = 0; i < ndata; i++) data[i] = run.get(Structs.U64, RUN_EXIT + 8 + i * 8L);
                yield new VcpuExit.SystemEvent(run.get(Structs.U32, RUN_EXIT), data);
            }
            case Arm64.EXIT_DEBUG -> new VcpuExit.Debug(new long[] {run.get(Structs.U64, RUN_EXIT), run.get(Structs.U64, RUN_EXIT + 8),
                run.get(Structs.U64, RUN_EXIT + 16), run.get(Structs.U64, RUN_EXIT + 24)});
            case Arm64.EXIT_HYPERCALL -> new VcpuExit.Hypercall(run.get(Structs.U64, RUN_EXIT),
                    run.get(Structs.U64, RUN_EXIT + Arm64.HYPERCALL_FLAGS_OFFSET));
            case Arm64.EXIT_ARM_NISV -> new VcpuExit.ArmNisv(run.get(Structs.U64, RUN_EXIT), run.get(Structs.U64, RUN_EXIT + 8));
            case EXIT_UNKNOWN -> new VcpuExit.Unsupported(EXIT_UNKNOWN);
            default -> new VcpuExit.Unsupported(reason);
        };
    }

    @Override
    public void close() {
        synchronized (mapping) {
            if (closed) return;
            closed = true;
        }
        thread = 0;
        Libc.munmap(run);
        Libc.close(fd);
        arena.close();
    }
}
