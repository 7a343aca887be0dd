package io.aether.kvm;

import io.aether.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A VM file descriptor and its ioctls: memory slots, interrupt controllers, vCPUs. */
public final class Vm implements AutoCloseable {

    /** {@code KVM_MEM_LOG_DIRTY_PAGES}: KVM records the guest's writes to the slot. */
    public static final int MEM_LOG_DIRTY_PAGES = 1;
    /** {@code KVM_MEM_READONLY}: guest writes exit to the monitor as MMIO. */
    public static final int MEM_READONLY = 2;

    private final int fd;
    private final int vcpuMmapSize;

    Vm(int fd, int vcpuMmapSize) {
        this.fd = fd;
        this.vcpuMmapSize = vcpuMmapSize;
    }

    public int checkExtension(Capability capability) {
        return Libc.ioctl("KVM_CHECK_EXTENSION", fd, Ioctls.KVM_CHECK_EXTENSION, capability.number);
    }

    /**
     * Maps {@code host} at guest-physical {@code guestAddress} as memory slot {@code slot}
     * ({@code host} of size 0 deletes the slot).
     */
    public void setUserMemoryRegion(int slot, int flags, long guestAddress, MemorySegment host) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.MEMORY_REGION);
            s.set(Structs.U32, 0, slot);
            s.set(Structs.U32, 4, flags);
            s.set(Structs.U64, 8, guestAddress);
            s.set(Structs.U64, 16, host.byteSize());
            s.set(Structs.U64, 24, host.address());
            Libc.ioctl("KVM_SET_USER_MEMORY_REGION", fd, Ioctls.KVM_SET_USER_MEMORY_REGION, s);
        }
    }

    /** Three pages Intel VMX needs for real-mode emulation; must lie outside RAM and MMIO. */
    public void setTssAddress(long address) {
        Libc.ioctl("KVM_SET_TSS_ADDR", fd, Ioctls.KVM_SET_TSS_ADDR, address);
    }

    /** One page for Intel VMX's identity map; must lie outside RAM and MMIO. */
    public void setIdentityMapAddress(long address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            s.set(Structs.U64, 0, address);
            Libc.ioctl("KVM_SET_IDENTITY_MAP_ADDR", fd, Ioctls.KVM_SET_IDENTITY_MAP_ADDR, s);
        }
    }

    /** Creates the in-kernel PIC, IOAPIC and per-vCPU LAPICs. */
    public void createIrqchip() {
        Libc.ioctl("KVM_CREATE_IRQCHIP", fd, Ioctls.KVM_CREATE_IRQCHIP, 0);
    }

    /** Creates the in-kernel i8254 PIT; {@code speakerDummy} makes port 0x61 a dummy. */
    public void createPit2(boolean speakerDummy) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64);
            s.set(Structs.U32, 0, speakerDummy ? 1 : 0);
            Libc.ioctl("KVM_CREATE_PIT2", fd, Ioctls.KVM_CREATE_PIT2, s);
        }
    }

    /**
     * Drives an interrupt line high or low: on x86_64 a GSI of the in-kernel IOAPIC/PIC, on
     * arm64 the encoded field {@link #armSpiLine} builds.
     */
    public void irqLine(int gsi, boolean level) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8);
            s.set(Structs.U32, 0, gsi);
            s.set(Structs.U32, 4, level ? 1 : 0);
            Libc.ioctl("KVM_IRQ_LINE", fd, Ioctls.KVM_IRQ_LINE, s);
        }
    }

    static final int IOEVENTFD_FLAG_DATAMATCH = 1;
    static final int IOEVENTFD_FLAG_PIO = 1 << 1;
    static final int IOEVENTFD_FLAG_DEASSIGN = 1 << 2;
    static final int IRQFD_FLAG_DEASSIGN = 1;
    static final int IRQFD_FLAG_RESAMPLE = 1 << 1;

    /**
     * {@code KVM_IOEVENTFD}: a guest write of {@code length} bytes (1, 2, 4 or 8) of
     * {@code datamatch} to MMIO address {@code address} signals {@code eventFd} inside KVM,
     * without an exit to the monitor ({@link Capability#IOEVENTFD}). Writes of other values still
     * exit as MMIO.
     */
    public void addIoEventFd(int eventFd, long address, int length, long datamatch) {
        ioeventfd(eventFd, address, length, datamatch, IOEVENTFD_FLAG_DATAMATCH);
    }

    /** Undoes {@link #addIoEventFd} with the same arguments. */
    public void removeIoEventFd(int eventFd, long address, int length, long datamatch) {
        ioeventfd(eventFd, address, length, datamatch, IOEVENTFD_FLAG_DATAMATCH | IOEVENTFD_FLAG_DEASSIGN);
    }

    private void ioeventfd(int eventFd, long address, int length, long datamatch, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(64, 8);
            s.set(Structs.U64, 0, datamatch);
            s.set(Structs.U64, 8, address);
            s.set(Structs.U32, 16, length);
            s.set(Structs.U32, 20, eventFd);
            s.set(Structs.U32, 24, flags);
            Libc.ioctl("KVM_IOEVENTFD", fd, Ioctls.KVM_IOEVENTFD, s);
        }
    }

    /**
     * {@code KVM_IRQFD} for a level-triggered GSI of the in-kernel IOAPIC ({@link Capability#IRQFD}):
     * a signal on {@code triggerFd} asserts the GSI; when the guest ends the interrupt (EOI) KVM
     * lowers it and signals {@code resampleFd}, where the monitor raises it again if its device
     * still wants it.
     */
    public void addLevelIrqFd(int triggerFd, int resampleFd, int gsi) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(32, 8);
            s.set(Structs.U32, 0, triggerFd);
            s.set(Structs.U32, 4, gsi);
            s.set(Structs.U32, 8, IRQFD_FLAG_RESAMPLE);
            s.set(Structs.U32, 12, resampleFd);
            Libc.ioctl("KVM_IRQFD", fd, Ioctls.KVM_IRQFD, s);
        }
    }

    /** Undoes {@link #addLevelIrqFd}. */
    public void removeIrqFd(int triggerFd, int gsi) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(32, 8);
            s.set(Structs.U32, 0, triggerFd);
            s.set(Structs.U32, 4, gsi);
            s.set(Structs.U32, 8, IRQFD_FLAG_DEASSIGN);
            Libc.ioctl("KVM_IRQFD", fd, Ioctls.KVM_IRQFD, s);
        }
    }

    /**
     * Returns and clears the slot's dirty bitmap (bit i = page i written by the guest since the
     * last call); the slot must have {@link #MEM_LOG_DIRTY_PAGES}.
     */
    public long[] dirtyLog(int slot, long pages) {
        int words = (int) ((pages + 63) / 64);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bitmap = arena.allocate(words * 8L, 8);
            MemorySegment s = arena.allocate(16, 8);
            s.set(Structs.U32, 0, slot);
            s.set(Structs.U32, 4, 0);
            s.set(java.lang.foreign.ValueLayout.ADDRESS, 8, bitmap);
            Libc.ioctl("KVM_GET_DIRTY_LOG", fd, Ioctls.KVM_GET_DIRTY_LOG, s);
            return bitmap.toArray(Structs.U64);
        }
    }

    /**
     * arm64: the vCPU target KVM prefers on this host ({@code KVM_ARM_PREFERRED_TARGET}), for
     * {@link Vcpu#armInit}.
     */
    public int armPreferredTarget() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Arm64.VCPU_INIT);
            Libc.ioctl("KVM_ARM_PREFERRED_TARGET", fd, Arm64.KVM_ARM_PREFERRED_TARGET, s);
            return s.get(Structs.U32, 0);
        }
    }

    /**
     * arm64: creates the in-kernel GICv3 with its distributor at {@code distributorBase} and the
     * vCPUs' redistributors from {@code redistributorBase} on (both 64 KiB-aligned). Call
     * {@link VgicV3#initialize} once every vCPU exists.
     */
    public VgicV3 createVgicV3(long distributorBase, long redistributorBase) {
        return VgicV3.create(fd, distributorBase, redistributorBase);
    }

    /**
     * arm64: drives shared peripheral interrupt {@code spi} (the device tree's number, 0..987;
     * interrupt id 32 + spi) of the in-kernel GIC high or low.
     */
    public void armSpiLine(int spi, boolean level) {
        irqLine(Arm64.spi(spi), level);
    }

    /** {@code KVM_IRQCHIP_*}: the chips of the in-kernel irqchip, in {@code chip_id} order. */
    static final int IRQCHIP_PIC_MASTER = 0;
    static final int IRQCHIP_PIC_SLAVE = 1;
    static final int IRQCHIP_IOAPIC = 2;

    /** The 512-byte state of in-kernel chip {@code chipId} ({@code KVM_GET_IRQCHIP}). */
    byte[] irqchip(int chipId) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.IRQCHIP_SIZE, 8);
            s.set(Structs.U32, 0, chipId);
            Libc.ioctl("KVM_GET_IRQCHIP", fd, Ioctls.KVM_GET_IRQCHIP, s);
            return s.asSlice(Structs.IRQCHIP_STATE_OFFSET).toArray(Structs.U8);
        }
    }

    void setIrqchip(int chipId, byte[] state) {
        int size = Structs.IRQCHIP_SIZE - Structs.IRQCHIP_STATE_OFFSET;
        if (state.length != size) throw new IllegalArgumentException("irqchip " + chipId + ": " + state.length + " bytes, expected " + size);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.IRQCHIP_SIZE, 8);
            s.set(Structs.U32, 0, chipId);
            MemorySegment.copy(state, 0, s, Structs.U8, Structs.IRQCHIP_STATE_OFFSET, size);
            Libc.ioctl("KVM_SET_IRQCHIP", fd, Ioctls.KVM_SET_IRQCHIP, s);
        }
    }

    /** {@code struct kvm_pit_state2} of the in-kernel PIT (needs {@link Capability#PIT_STATE2}). */
    byte[] pit() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.PIT_STATE2_SIZE, 8);
            Libc.ioctl("KVM_GET_PIT2", fd, Ioctls.KVM_GET_PIT2, s);
            return s.toArray(Structs.U8);
        }
    }

    void setPit(byte[] state) {
        if (state.length != Structs.PIT_STATE2_SIZE) {
            throw new IllegalArgumentException("PIT: " + state.length + " bytes, expected " + Structs.PIT_STATE2_SIZE);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.PIT_STATE2_SIZE, 8);
            MemorySegment.copy(state, 0, s, Structs.U8, 0, state.length);
            Libc.ioctl("KVM_SET_PIT2", fd, Ioctls.KVM_SET_PIT2, s);
        }
    }

    /** The guest's kvmclock in nanoseconds ({@code KVM_GET_CLOCK}). */
    public long clock() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.CLOCK_DATA_SIZE, 8);
            Libc.ioctl("KVM_GET_CLOCK", fd, Ioctls.KVM_GET_CLOCK, s);
            return s.get(Structs.U64, 0);
        }
    }

    /** Sets the kvmclock, so that a restored guest's time continues from where it stopped. */
    public void setClock(long nanoseconds) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Structs.CLOCK_DATA_SIZE, 8);
            s.set(Structs.U64, 0, nanoseconds);
            Libc.ioctl("KVM_SET_CLOCK", fd, Ioctls.KVM_SET_CLOCK, s);
        }
    }

    /** The in-kernel irqchip's, PIT's and clock's state; the VM must have all three, and no vCPU running. */
    public VmState state() {
        return new VmState(irqchip(IRQCHIP_PIC_MASTER), irqchip(IRQCHIP_PIC_SLAVE), irqchip(IRQCHIP_IOAPIC), pit(), clock());
    }

    /**
     * Loads {@code state} into this VM, created with the irqchip and the PIT. The PIT goes first:
     * a fresh PIT's timer could otherwise raise IRQ 0 into the chips just restored.
     */
    public void restore(VmState state) {
        setPit(state.pit());
        setIrqchip(IRQCHIP_PIC_MASTER, state.picMaster());
        setIrqchip(IRQCHIP_PIC_SLAVE, state.picSlave());
        setIrqchip(IRQCHIP_IOAPIC, state.ioapic());
        setClock(state.clock());
    }

    /** Creates vCPU {@code id} (its initial APIC id too). */
    public Vcpu createVcpu(int id) {
        int vcpuFd = Libc.ioctl("KVM_CREATE_VCPU", fd, Ioctls.KVM_CREATE_VCPU, id);
        return new Vcpu(id, vcpuFd, vcpuMmapSize);
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
