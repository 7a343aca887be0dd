package io.aether.kvm;

/**
 * KVM ioctl request numbers for x86_64 (include/uapi/linux/kvm.h), checked against the kernel
 * headers: {@code _IOC(dir, 0xAE, nr, size)}.
 */
final class Ioctls {

    static final long KVM_GET_API_VERSION = 0xAE00;
    static final long KVM_CREATE_VM = 0xAE01;
    static final long KVM_CHECK_EXTENSION = 0xAE03;
    static final long KVM_GET_VCPU_MMAP_SIZE = 0xAE04;
    static final long KVM_GET_SUPPORTED_CPUID = 0xC008AE05L;
    static final long KVM_GET_MSR_INDEX_LIST = 0xC004AE02L;

    static final long KVM_CREATE_VCPU = 0xAE41;
    static final long KVM_GET_DIRTY_LOG = 0x4010AE42;
    static final long KVM_SET_USER_MEMORY_REGION = 0x4020AE46;
    static final long KVM_SET_TSS_ADDR = 0xAE47;
    static final long KVM_SET_IDENTITY_MAP_ADDR = 0x4008AE48;
    static final long KVM_CREATE_IRQCHIP = 0xAE60;
    static final long KVM_IRQ_LINE = 0x4008AE61;
    // struct kvm_irqchip, 520 bytes; SET is _IOR in the header, a historical mistake kept for ABI.
    static final long KVM_GET_IRQCHIP = 0xC208AE62L;
    static final long KVM_SET_IRQCHIP = 0x8208AE63L;
    // struct kvm_pit_state2, 112 bytes (KVM_CAP_PIT_STATE2)
    static final long KVM_GET_PIT2 = 0x8070AE9FL;
    static final long KVM_SET_PIT2 = 0x4070AEA0;
    static final long KVM_IRQFD = 0x4020AE76;
    static final long KVM_CREATE_PIT2 = 0x4040AE77;
    static final long KVM_IOEVENTFD = 0x4040AE79;
    static final long KVM_GET_CLOCK = 0x8030AE7CL;
    static final long KVM_SET_CLOCK = 0x4030AE7B;
    static final long KVM_ENABLE_CAP = 0x4068AEA3;

    static final long KVM_RUN = 0xAE80;
    static final long KVM_GET_REGS = 0x8090AE81L;
    static final long KVM_SET_REGS = 0x4090AE82;
    static final long KVM_GET_SREGS = 0x8138AE83L;
    static final long KVM_SET_SREGS = 0x4138AE84;
    static final long KVM_GET_MSRS = 0xC008AE88L;
    static final long KVM_SET_MSRS = 0x4008AE89;
    static final long KVM_GET_FPU = 0x81A0AE8CL;
    static final long KVM_SET_FPU = 0x41A0AE8D;
    static final long KVM_GET_LAPIC = 0x8400AE8EL;
    static final long KVM_SET_LAPIC = 0x4400AE8F;
    static final long KVM_SET_CPUID2 = 0x4008AE90;
    static final long KVM_GET_MP_STATE = 0x8004AE98L;
    static final long KVM_SET_MP_STATE = 0x4004AE99;
    // struct kvm_vcpu_events, 64 bytes (KVM_CAP_VCPU_EVENTS)
    static final long KVM_GET_VCPU_EVENTS = 0x8040AE9FL;
    static final long KVM_SET_VCPU_EVENTS = 0x4040AEA0;
    // struct kvm_debugregs, 128 bytes (KVM_CAP_DEBUGREGS)
    static final long KVM_GET_DEBUGREGS = 0x8080AEA1L;
    static final long KVM_SET_DEBUGREGS = 0x4080AEA2;
    // struct kvm_xsave, 4096 bytes (KVM_CAP_XSAVE)
    static final long KVM_GET_XSAVE = 0x9000AEA4L;
    static final long KVM_SET_XSAVE = 0x5000AEA5;
    // struct kvm_xcrs, 392 bytes (KVM_CAP_XCRS)
    static final long KVM_GET_XCRS = 0x8188AEA6L;
    static final long KVM_SET_XCRS = 0x4188AEA7;

    private Ioctls() {
    }
}
