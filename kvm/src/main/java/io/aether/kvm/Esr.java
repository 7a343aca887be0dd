package io.aether.kvm;

/**
 * An ESR_EL2 value (exception syndrome register: why an exception was taken to EL2) decoded by
 * the Arm Architecture Reference Manual's field definitions (ESR_EL2; the ISS encodings of
 * each exception class). On arm64 KVM hands the monitor such syndromes in
 * {@code KVM_EXIT_DEBUG} ({@code hsr}), {@code KVM_EXIT_ARM_NISV} ({@code esr_iss}) and
 * {@code KVM_EXIT_FAIL_ENTRY}; {@link #toString()} is the one line {@code --trace-exits} prints.
 *
 * <p>Layout: bits 63:56 RES0, 55:32 ISS2, 31:26 EC (exception class), 25 IL (32-bit
 * instruction), 24:0 ISS (instruction specific syndrome).
 */
public sealed interface Esr {

    /** The raw register value. */
    long value();

    /** EC, bits 31:26. */
    default int exceptionClass() {
        return (int) (value() >>> 26) & 0x3F;
    }

    /** IL, bit 25: the trapped instruction was 32 bits wide (always so for AArch64 code). */
    default boolean instruction32() {
        return (value() >>> 25 & 1) != 0;
    }

    /** ISS, bits 24:0. */
    default int iss() {
        return (int) value() & 0x1FF_FFFF;
    }

    /** Decodes {@code value}; every value decodes, an unallocated class as {@link Other}. */
    static Esr decode(long value) {
        return Syndrome.decode(value);
    }

    /**
     * A data abort: a load or store the stage-2 map (or stage 1) refused; an MMIO access arrives
     * this way. SAS, SSE, SRT, SF and AR are only valid when {@code isv}.
     *
     * @param lowerEl taken from the guest (EC 0x24) rather than from EL2 itself (0x25)
     * @param isv ISV, bit 24: the access is described by the following fields
     * @param accessSizeLog2 SAS, bits 23:22: 0 byte, 1 halfword, 2 word, 3 doubleword
     * @param signExtend SSE, bit 21
     * @param register SRT, bits 20:16: the transfer register, x0..x30 (31 is xzr)
     * @param register64 SF, bit 15: the register is 64-bit wide
     * @param acquireRelease AR, bit 14
     * @param farNotValid FnV, bit 10: FAR does not hold the faulting address
     * @param externalAbort EA, bit 9
     * @param cacheMaintenance CM, bit 8
     * @param stage1Walk S1PTW, bit 7: the fault was on a stage 1 translation table walk
     * @param write WnR, bit 6
     * @param faultStatus DFSC, bits 5:0
     */
    record DataAbort(long value, boolean lowerEl, boolean isv, int accessSizeLog2, boolean signExtend, int register,
                     boolean register64, boolean acquireRelease, boolean farNotValid, boolean externalAbort,
                     boolean cacheMaintenance, boolean stage1Walk, boolean write, int faultStatus) implements Esr {
        @Override
        public String toString() {
            StringBuilder sb = Syndrome.head(this);
            if (isv) {
                sb.append(" ISV=1 SAS=").append(Syndrome.sizeName(accessSizeLog2)).append(Syndrome.flag("SSE", signExtend))
                        .append(" SRT=").append(Syndrome.xRegister(register)).append(Syndrome.flag("SF", register64))
                        .append(Syndrome.flag("AR", acquireRelease));
            } else {
                sb.append(" ISV=0");
            }
            return sb.append(" WnR=").append(write ? "write" : "read").append(Syndrome.flag("FnV", farNotValid))
                    .append(Syndrome.flag("EA", externalAbort)).append(Syndrome.flag("CM", cacheMaintenance))
                    .append(Syndrome.flag("S1PTW", stage1Walk)).append(Syndrome.faultStatus("DFSC", faultStatus)).toString();
        }
    }

    /**
     * An instruction abort: an instruction fetch the translation refused.
     *
     * @param farNotValid FnV, bit 10
     * @param externalAbort EA, bit 9
     * @param stage1Walk S1PTW, bit 7
     * @param faultStatus IFSC, bits 5:0
     */
    record InstructionAbort(long value, boolean lowerEl, boolean farNotValid, boolean externalAbort, boolean stage1Walk,
                            int faultStatus) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(Syndrome.flag("FnV", farNotValid)).append(Syndrome.flag("EA", externalAbort))
                    .append(Syndrome.flag("S1PTW", stage1Walk)).append(Syndrome.faultStatus("IFSC", faultStatus)).toString();
        }
    }

    /** {@code HVC #imm16} from AArch64: the hypervisor call (PSCI, SMCCC) is in x0. */
    record Hvc(long value, int imm16) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(" imm16=0x").append(Integer.toHexString(imm16)).toString();
        }
    }

    /** {@code SMC #imm16} from AArch64, trapped to EL2. */
    record Smc(long value, int imm16) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(" imm16=0x").append(Integer.toHexString(imm16)).toString();
        }
    }

    /**
     * A trapped MSR, MRS or system instruction, naming the register as {@code S<op0>_<op1>_C<n>_C<m>_<op2>}.
     *
     * @param op0 Op0, bits 21:20
     * @param op1 Op1, bits 16:14
     * @param crn CRn, bits 13:10
     * @param crm CRm, bits 4:1
     * @param op2 Op2, bits 19:17
     * @param register Rt, bits 9:5
     * @param read Direction, bit 0: MRS (a read) rather than MSR
     */
    record SystemRegisterAccess(long value, int op0, int op1, int crn, int crm, int op2, int register, boolean read) implements Esr {
        @Override
        public String toString() {
            String sysreg = "S%d_%d_C%d_C%d_%d".formatted(op0, op1, crn, crm, op2);
            return Syndrome.head(this).append(read ? " MRS " + Syndrome.xRegister(register) + ", " + sysreg : " MSR " + sysreg + ", " + Syndrome.xRegister(register)).toString();
        }
    }

    /** {@code BRK #comment}: a software breakpoint (with guest debugging enabled, KVM exits with it). */
    record Brk(long value, int comment) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(" comment=0x").append(Integer.toHexString(comment)).toString();
        }
    }

    /**
     * A software step completed (single-stepping through {@code KVM_SET_GUEST_DEBUG}).
     *
     * @param isv ISV, bit 24: {@code exclusive} is valid
     * @param exclusive EX, bit 6: the stepped instruction was a load-exclusive
     * @param faultStatus IFSC, bits 5:0 (0x22, debug exception)
     */
    record SoftwareStep(long value, boolean lowerEl, boolean isv, boolean exclusive, int faultStatus) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(Syndrome.flag("ISV", isv)).append(Syndrome.flag("EX", exclusive))
                    .append(Syndrome.faultStatus("IFSC", faultStatus)).toString();
        }
    }

    /**
     * A hardware watchpoint hit.
     *
     * @param cacheMaintenance CM, bit 8
     * @param write WnR, bit 6
     * @param faultStatus DFSC, bits 5:0 (0x22, debug exception)
     */
    record Watchpoint(long value, boolean lowerEl, boolean cacheMaintenance, boolean write, int faultStatus) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(Syndrome.flag("CM", cacheMaintenance)).append(" WnR=").append(write ? "write" : "read")
                    .append(Syndrome.faultStatus("DFSC", faultStatus)).toString();
        }
    }

    /** A hardware breakpoint hit; IFSC, bits 5:0, is 0x22 (debug exception). */
    record Breakpoint(long value, boolean lowerEl, int faultStatus) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(Syndrome.faultStatus("IFSC", faultStatus)).toString();
        }
    }

    /** Which wait instruction trapped: ESR ISS bits 1:0 (TI). */
    enum WfxKind { WFI, WFE, WFIT, WFET }

    /**
     * A trapped WFI, WFE, WFIT or WFET.
     *
     * @param registerValid RV, bit 2: {@code register} holds WFIT/WFET's timeout register
     * @param register RN, bits 9:5
     */
    record Wfx(long value, WfxKind kind, boolean registerValid, int register) implements Esr {
        @Override
        public String toString() {
            StringBuilder sb = Syndrome.head(this).append(' ').append(kind);
            return (registerValid ? sb.append(' ').append(Syndrome.xRegister(register)) : sb).toString();
        }
    }

    /** Any other exception class, named but with its ISS left raw. */
    record Other(long value) implements Esr {
        @Override
        public String toString() {
            return Syndrome.head(this).append(" ISS=0x").append(Integer.toHexString(iss())).toString();
        }
    }
}
