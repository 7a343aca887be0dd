package io.aether.kvm;

import io.aether.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The in-kernel GICv3 of an arm64 VM ({@code KVM_DEV_TYPE_ARM_VGIC_V3}): its distributor and
 * redistributor frames placed in guest-physical space, then initialised once every vCPU
 * exists. KVM emulates the distributor and redistributors itself; the guest's accesses to
 * them never reach the monitor. SPIs are raised with {@link Vm#armSpiLine}.
 */
public final class VgicV3 implements AutoCloseable {

    /** The distributor and each redistributor frame pair must be 64 KiB-aligned. */
    static final long ALIGNMENT = 0x1_0000;

    private final int fd;

    private VgicV3(int fd) {
        this.fd = fd;
    }

    /** Creates the device on {@code vmFd} and places its frames; the device is closed again if that fails. */
    static VgicV3 create(int vmFd, long distributorBase, long redistributorBase) {
        checkBase("distributor", distributorBase);
        checkBase("redistributor", redistributorBase);
        int deviceFd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Arm64.CREATE_DEVICE);
            s.set(Structs.U32, 0, Arm64.DEV_TYPE_ARM_VGIC_V3);
            Libc.ioctl("KVM_CREATE_DEVICE (GICv3)", vmFd, Arm64.KVM_CREATE_DEVICE, s);
            deviceFd = s.get(Structs.U32, 4);
        }
        VgicV3 gic = new VgicV3(deviceFd);
        try {
            gic.setAddress("distributor", Arm64.VGIC_V3_ADDR_TYPE_DIST, distributorBase);
            gic.setAddress("redistributors", Arm64.VGIC_V3_ADDR_TYPE_REDIST, redistributorBase);
            return gic;
        } catch (RuntimeException e) {
            gic.close();
            throw e;
        }
    }

    private static void checkBase(String what, long base) {
        if (base < 0 || base % ALIGNMENT != 0) {
            throw new IllegalArgumentException("GICv3 " + what + " base 0x" + Long.toHexString(base) + " is not 64 KiB-aligned");
        }
    }

    private void setAddress(String what, long type, long base) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(Structs.U64);
            value.set(Structs.U64, 0, base);
            setAttribute("KVM_SET_DEVICE_ATTR (GICv3 " + what + " at 0x" + Long.toHexString(base) + ")",
                    Arm64.VGIC_GRP_ADDR, type, value.address());
        }
    }

    /**
     * Initialises the GIC ({@code KVM_DEV_ARM_VGIC_CTRL_INIT}): after all vCPUs are created,
     * before the first runs. KVM then sizes the redistributors for the vCPUs that exist.
     */
    public void initialize() {
        setAttribute("KVM_SET_DEVICE_ATTR (GICv3 init)", Arm64.VGIC_GRP_CTRL, Arm64.VGIC_CTRL_INIT, 0);
    }

    private void setAttribute(String call, int group, long attribute, long address) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Arm64.DEVICE_ATTR);
            s.set(Structs.U32, 0, 0);
            s.set(Structs.U32, 4, group);
            s.set(Structs.U64, 8, attribute);
            s.set(Structs.U64, 16, address);
            Libc.ioctl(call, fd, Arm64.KVM_SET_DEVICE_ATTR, s);
        }
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
