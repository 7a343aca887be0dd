package io.aether.kvm;

/**
 * An arm64 vCPU register as {@code KVM_GET_ONE_REG} and {@code KVM_SET_ONE_REG} name it: a
 * 64-bit core register of {@code struct kvm_regs} (x0..x30, PC, PSTATE, SP_EL1) or a system
 * register by its {@code op0, op1, CRn, CRm, op2} encoding.
 *
 * <p>Only 64-bit register ids are accepted: KVM copies as many bytes as the id's size field
 * says, and {@link Vcpu#register} hands it an 8-byte buffer.
 *
 * @param name how traces and errors call it ({@code pc}, {@code x4}, {@code MPIDR_EL1})
 * @param id   the KVM register id
 */
public record Arm64Register(String name, long id) {

    /** The program counter. */
    public static final Arm64Register PC = new Arm64Register("pc", Arm64.PC);
    /** PSTATE (SPSR layout): exception level, stack pointer choice, DAIF masks, flags. */
    public static final Arm64Register PSTATE = new Arm64Register("pstate", Arm64.PSTATE);
    /** The EL1 stack pointer. */
    public static final Arm64Register SP_EL1 = new Arm64Register("sp_el1", Arm64.SP_EL1);
    /** The vCPU's affinity as the guest reads it; KVM derives it from the vCPU id. */
    public static final Arm64Register MPIDR_EL1 = new Arm64Register("MPIDR_EL1", Arm64.MPIDR_EL1);

    /** The top 12 bits every id here has: {@code KVM_REG_ARM64 | KVM_REG_SIZE_U64}. */
    private static final long ARM64_U64 = Arm64.REG_ARM64 | Arm64.REG_SIZE_U64;
    private static final long ARCH_AND_SIZE = 0xFFF0_0000_0000_0000L;

    public Arm64Register {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("an arm64 register needs a name");
        }
        if ((id & ARCH_AND_SIZE) != ARM64_U64) {
            throw new IllegalArgumentException("register %s: id 0x%x is not a 64-bit arm64 register id".formatted(name, id));
        }
    }

    /** General-purpose register x{@code n}, 0..30. */
    public static Arm64Register x(int n) {
        return new Arm64Register("x" + n, Arm64.x(n));
    }

    /** The system register {@code S<op0>_<op1>_C<crn>_C<crm>_<op2>}, called {@code name}. */
    public static Arm64Register system(String name, int op0, int op1, int crn, int crm, int op2) {
        return new Arm64Register(name, Arm64.systemRegister(op0, op1, crn, crm, op2));
    }

    @Override
    public String toString() {
        return name;
    }
}
