package io.aether.kvm;

import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;

import java.lang.foreign.MemoryLayout;

/**
 * The arm64 KVM ABI, beside the x86_64 {@link Ioctls} and {@link Structs}: ioctl numbers, the
 * structs they take, core and system register ids, vCPU features, the vGICv3 device's attributes
 * and the {@code KVM_IRQ_LINE} encoding. Sources: include/uapi/linux/kvm.h and
 * arch/arm64/include/uapi/asm/kvm.h; ioctl numbers are the generic
 * {@code _IOC(dir, 0xAE, nr, size)} encoding arm64 uses.
 */
final class Arm64 {

    // ioctls. KVM_IRQ_LINE is Ioctls.KVM_IRQ_LINE: the same number, with an arm64 irq field (see spi, ppi).
    static final long KVM_SET_GUEST_DEBUG = 0x4208_AE9BL;
    static final long KVM_GET_ONE_REG = 0x4010_AEABL;
    static final long KVM_SET_ONE_REG = 0x4010_AEACL;
    static final long KVM_ARM_VCPU_INIT = 0x4020_AEAEL;
    static final long KVM_ARM_PREFERRED_TARGET = 0x8020_AEAFL;
    static final long KVM_CREATE_DEVICE = 0xC00C_AEE0L;
    static final long KVM_SET_DEVICE_ATTR = 0x4018_AEE1L;
    static final long KVM_HAS_DEVICE_ATTR = 0x4018_AEE3L;

    /** {@code struct kvm_vcpu_init}: the target from KVM_ARM_PREFERRED_TARGET and feature bits. */
    static final MemoryLayout VCPU_INIT = structLayout(Structs.U32.withName("target"), sequenceLayout(7, Structs.U32).withName("features"));
    /** {@code struct kvm_one_reg}: a register id and the address of its value. */
    static final MemoryLayout ONE_REG = structLayout(Structs.U64.withName("id"), Structs.U64.withName("addr"));
    /** {@code struct kvm_create_device}: the device type in, its file descriptor out. */
    static final MemoryLayout CREATE_DEVICE = structLayout(Structs.U32.withName("type"), Structs.U32.withName("fd"),
            Structs.U32.withName("flags"));
    /** {@code struct kvm_device_attr}. */
    static final MemoryLayout DEVICE_ATTR = structLayout(Structs.U32.withName("flags"), Structs.U32.withName("group"),
            Structs.U64.withName("attr"), Structs.U64.withName("addr"));
    /** {@code struct kvm_irq_level}: the encoded irq and the line's level. */
    static final MemoryLayout IRQ_LEVEL = structLayout(Structs.U32.withName("irq"), Structs.U32.withName("level"));
    /** {@code struct kvm_guest_debug} on arm64: control, padding, and the hardware breakpoint and watchpoint registers. */
    static final MemoryLayout GUEST_DEBUG = structLayout(Structs.U32.withName("control"), Structs.U32.withName("pad"),
            sequenceLayout(16, Structs.U64).withName("dbg_bcr"), sequenceLayout(16, Structs.U64).withName("dbg_bvr"),
            sequenceLayout(16, Structs.U64).withName("dbg_wcr"), sequenceLayout(16, Structs.U64).withName("dbg_wvr"));

    // Exit payloads in struct kvm_run's union, at the offset Vcpu reads every exit from (32).
    /** {@code kvm_run.debug.arch} for KVM_EXIT_DEBUG: ESR_EL2 in two halves, and FAR_EL2. */
    static final MemoryLayout DEBUG_EXIT = structLayout(Structs.U32.withName("hsr"), Structs.U32.withName("hsr_high"),
            Structs.U64.withName("far"));
    /** {@code kvm_run.arm_nisv} for KVM_EXIT_ARM_NISV: a data abort KVM cannot decode itself. */
    static final MemoryLayout NISV_EXIT = structLayout(Structs.U64.withName("esr_iss"), Structs.U64.withName("fault_ipa"));

    static final int EXIT_HYPERCALL = 3;
    /** {@code kvm_run.hypercall}: nr (the SMCCC function id), args[6], ret, then flags. */
    static final long HYPERCALL_FLAGS_OFFSET = 8 + 6 * 8 + 8;
    static final int EXIT_DEBUG = 4;
    static final int EXIT_ARM_NISV = 28;

    // kvm_vcpu_init.features[0] bits.
    /** The vCPU starts powered off, to be started by PSCI CPU_ON: every secondary vCPU. */
    static final int VCPU_FEATURE_POWER_OFF = 0;
    /** PSCI 0.2 and later (KVM implements 1.x) through HVC, handled inside KVM. */
    static final int VCPU_FEATURE_PSCI_0_2 = 2;

    // KVM_SET_GUEST_DEBUG control bits.
    static final int GUESTDBG_ENABLE = 0x1;
    static final int GUESTDBG_SINGLESTEP = 0x2;
    static final int GUESTDBG_USE_SW_BP = 0x1_0000;
    static final int GUESTDBG_USE_HW = 0x2_0000;

    // Register ids for KVM_GET/SET_ONE_REG: architecture, size, group, then the group's index.
    static final long REG_ARM64 = 0x6000_0000_0000_0000L;
    static final long REG_SIZE_U64 = 0x0030_0000_0000_0000L;
    static final long REG_ARM_CORE = 0x0010_0000L;
    static final long REG_ARM64_SYSREG = 0x0013_0000L;

    /** Byte offsets in {@code struct kvm_regs}: {@code regs} (user_pt_regs: x0..x30, sp, pc, pstate), then sp_el1, elr_el1, spsr[]. */
    static final long REGS_SP_EL0 = 31 * 8;
    static final long REGS_PC = 32 * 8;
    static final long REGS_PSTATE = 33 * 8;
    static final long REGS_SP_EL1 = 34 * 8;
    static final long REGS_ELR_EL1 = 35 * 8;
    static final long REGS_SPSR_EL1 = 36 * 8;

    static final long PC = coreRegister(REGS_PC);
    static final long PSTATE = coreRegister(REGS_PSTATE);
    static final long SP_EL1 = coreRegister(REGS_SP_EL1);
    static final long MPIDR_EL1 = systemRegister(3, 0, 0, 0, 5);

    /** PSTATE for entering Linux: EL1 with SP_EL1 (M = 0b0101), debug, SError, IRQ and FIQ masked (D, A, I, F, bits 9..6). */
    static final long PSTATE_EL1H_DAIF_MASKED = 0x3C5;

    // The VM's own attributes (KVM_SET_DEVICE_ATTR on the VM's descriptor): the SMCCC filter.
    static final int VM_SMCCC_CTRL = 0;
    static final long VM_SMCCC_FILTER = 0;
    /** {@code enum kvm_smccc_filter_action}: KVM answers the call itself, answers NOT_SUPPORTED, or exits to the monitor. */
    static final int SMCCC_FILTER_FWD_TO_USER = 2;
    /** {@code struct kvm_smccc_filter}: the first function id, how many, the action, 15 bytes of padding. */
    static final MemoryLayout SMCCC_FILTER = structLayout(Structs.U32.withName("base"), Structs.U32.withName("nr_functions"),
            Structs.U8.withName("action"), sequenceLayout(15, Structs.U8).withName("pad"));

    // The vGICv3 device (KVM_CREATE_DEVICE type and KVM_SET_DEVICE_ATTR groups and attributes).
    static final int DEV_TYPE_ARM_VGIC_V3 = 7;
    static final int VGIC_GRP_ADDR = 0;
    static final int VGIC_GRP_NR_IRQS = 3;
    static final int VGIC_GRP_CTRL = 4;
    static final long VGIC_CTRL_INIT = 0;
    static final long VGIC_V3_ADDR_TYPE_DIST = 2;
    static final long VGIC_V3_ADDR_TYPE_REDIST = 3;

    // KVM_IRQ_LINE's irq field on arm64: vcpu2_index 31:28, irq_type 27:24, vcpu_index 23:16, irq_id 15:0.
    static final int IRQ_TYPE_SPI = 1;
    static final int IRQ_TYPE_PPI = 2;
    /** SPI numbers 0..987 are interrupt ids 32..1019. */
    static final int MAX_SPI = 987;
    /** vcpu2_index and vcpu_index together name up to 4096 vCPUs. */
    static final int MAX_IRQ_VCPU = 4095;

    private Arm64() {
    }

    /** The id of the core register at {@code byteOffset} in {@code struct kvm_regs}: indexed in 32-bit words. */
    static long coreRegister(long byteOffset) {
        if (byteOffset < 0 || byteOffset > REGS_SPSR_EL1 || byteOffset % 8 != 0) {
            throw new IllegalArgumentException("core register offset " + byteOffset + " is not a 64-bit register of struct kvm_regs");
        }
        return REG_ARM64 | REG_SIZE_U64 | REG_ARM_CORE | byteOffset / 4;
    }

    /** The id of general-purpose register x{@code n}. */
    static long x(int n) {
        if (n < 0 || n > 30) throw new IllegalArgumentException("x" + n + " is not x0..x30");
        return coreRegister(n * 8L);
    }

    /** The id of the system register named {@code S<op0>_<op1>_C<crn>_C<crm>_<op2>}. */
    static long systemRegister(int op0, int op1, int crn, int crm, int op2) {
        if (op0 < 0 || op0 > 3 || op1 < 0 || op1 > 7 || crn < 0 || crn > 15 || crm < 0 || crm > 15 || op2 < 0 || op2 > 7) {
            throw new IllegalArgumentException("S%d_%d_C%d_C%d_%d is not a system register encoding".formatted(op0, op1, crn, crm, op2));
        }
        return REG_ARM64 | REG_SIZE_U64 | REG_ARM64_SYSREG | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
    }

    /** KVM_IRQ_LINE's irq field for shared peripheral interrupt {@code spi} (the device tree's number). */
    static int spi(int spi) {
        if (spi < 0 || spi > MAX_SPI) throw new IllegalArgumentException("SPI " + spi + " is not in 0.." + MAX_SPI);
        return IRQ_TYPE_SPI << 24 | (32 + spi);
    }

    /** KVM_IRQ_LINE's irq field for private peripheral interrupt {@code ppi} (0..15) of vCPU {@code vcpu}. */
    static int ppi(int vcpu, int ppi) {
        if (ppi < 0 || ppi > 15) throw new IllegalArgumentException("PPI " + ppi + " is not in 0..15");
        if (vcpu < 0 || vcpu > MAX_IRQ_VCPU) throw new IllegalArgumentException("vCPU " + vcpu + " is not in 0.." + MAX_IRQ_VCPU);
        return (vcpu >> 8) << 28 | IRQ_TYPE_PPI << 24 | (vcpu & 0xFF) << 16 | (16 + ppi);
    }
}
