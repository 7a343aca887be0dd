package io.aether.kvm;

import io.aether.sys.Libc;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The KVM subsystem: {@code /dev/kvm} and the system ioctls. Creates {@link Vm}s.
 */
public final class Kvm implements AutoCloseable {

    /** The only KVM API version there has ever been. */
    public static final int API_VERSION = 12;
    public static final String DEFAULT_DEVICE = "/dev/kvm";
    private static final int MAX_CPUID_ENTRIES = 256;
    /** Far above the few hundred MSRs any KVM lists; a longer list fails with E2BIG. */
    private static final int MAX_MSR_INDICES = 4096;

    private final int fd;

    private Kvm(int fd) {
        this.fd = fd;
    }

    /** Opens {@code /dev/kvm} and checks the API version. */
    public static Kvm open() {
        return open(DEFAULT_DEVICE);
    }

    public static Kvm open(String device) {
        int fd = Libc.open(device, Libc.O_RDWR | Libc.O_CLOEXEC, 0);
        Kvm kvm = new Kvm(fd);
        int version = kvm.apiVersion();
        if (version != API_VERSION) {
            kvm.close();
            throw new IllegalStateException(device + " speaks KVM API version " + version + ", expected " + API_VERSION);
        }
        return kvm;
    }

    public int apiVersion() {
        return Libc.ioctl("KVM_GET_API_VERSION", fd, Ioctls.KVM_GET_API_VERSION, 0);
    }

    /** 0 when absent; otherwise 1 or a capability-specific value (a count, say). */
    public int checkExtension(Capability capability) {
        return Libc.ioctl("KVM_CHECK_EXTENSION", fd, Ioctls.KVM_CHECK_EXTENSION, capability.number);
    }

    /**
     * arm64: the widest guest-physical address space, in bits, a VM may ask for
     * ({@code KVM_CAP_ARM_VM_IPA_SIZE}); 0 when KVM offers only its default of 40 bits.
     */
    public int armIpaLimitBits() {
        return checkExtension(Capability.ARM_VM_IPA_SIZE);
    }

    /** Size of each vCPU's shared {@code struct kvm_run} mapping. */
    public int vcpuMmapSize() {
        return Libc.ioctl("KVM_GET_VCPU_MMAP_SIZE", fd, Ioctls.KVM_GET_VCPU_MMAP_SIZE, 0);
    }

    /** The CPUID leaves KVM can present to a guest on this host. */
    public List<CpuidEntry> supportedCpuid() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(8 + MAX_CPUID_ENTRIES * Structs.CPUID_ENTRY_SIZE, 8);
            s.set(Structs.U32, 0, MAX_CPUID_ENTRIES);
            Libc.ioctl("KVM_GET_SUPPORTED_CPUID", fd, Ioctls.KVM_GET_SUPPORTED_CPUID, s);
            return Structs.readCpuid(s);
        }
    }

    /** The MSRs KVM can read and write for a guest on this host ({@code KVM_GET_MSR_INDEX_LIST}). */
    public List<Integer> msrIndexList() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(4 + MAX_MSR_INDICES * 4L, 4);
            s.set(Structs.U32, 0, MAX_MSR_INDICES);
            Libc.ioctl("KVM_GET_MSR_INDEX_LIST", fd, Ioctls.KVM_GET_MSR_INDEX_LIST, s);
            int count = Math.min(s.get(Structs.U32, 0), MAX_MSR_INDICES);
            return Arrays.stream(s.asSlice(4, count * 4L).toArray(Structs.U32)).boxed().toList();
        }
    }

    /** What {@link Vcpu#state}, {@link Vm#state} and their restores call on x86_64. */
    private static final List<Capability> STATE_CAPABILITIES = List.of(Capability.MP_STATE, Capability.PIT_STATE2,
            Capability.ADJUST_CLOCK, Capability.VCPU_EVENTS, Capability.DEBUGREGS, Capability.XSAVE, Capability.XCRS);

    /** Fails naming the first capability that reading or loading an x86_64 VM's state needs and this KVM lacks. */
    public void requireStateCapabilities() {
        for (Capability c : STATE_CAPABILITIES) {
            if (checkExtension(c) <= 0) throw new IllegalStateException("KVM lacks KVM_CAP_" + c + ", which saving a VM's state needs");
        }
    }

    /** Creates an empty VM (no memory, no vCPUs). */
    public Vm createVm() {
        int vmFd = Libc.ioctl("KVM_CREATE_VM", fd, Ioctls.KVM_CREATE_VM, 0);
        return new Vm(vmFd, vcpuMmapSize());
    }

    @Override
    public void close() {
        Libc.close(fd);
    }
}
