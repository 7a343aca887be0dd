package io.aether.kvm;

/** KVM capabilities the monitor asks about ({@code KVM_CAP_*}). */
public enum Capability {
    IRQCHIP(0),
    USER_MEMORY(3),
    SET_TSS_ADDR(4),
    EXT_CPUID(7),
    NR_VCPUS(9),
    MP_STATE(14),
    IRQFD(32),
    PIT2(33),
    PIT_STATE2(35),
    IOEVENTFD(36),
    ADJUST_CLOCK(39),
    VCPU_EVENTS(41),
    DEBUGREGS(50),
    XSAVE(55),
    XCRS(56),
    MAX_VCPUS(66),
    TSC_DEADLINE_TIMER(72),
    READONLY_MEM(81),
    SPLIT_IRQCHIP(121),
    X2APIC_API(129),
    IMMEDIATE_EXIT(136),

    // arm64
    SET_GUEST_DEBUG(23),
    ONE_REG(70),
    DEVICE_CTRL(89),
    ARM_PSCI_0_2(102),
    /** The largest guest physical address size, in bits, that KVM_CREATE_VM's type may ask for. */
    ARM_VM_IPA_SIZE(165),
    ARM_NISV_TO_USER(177);

    final int number;

    Capability(int number) {
        this.number = number;
    }
}
