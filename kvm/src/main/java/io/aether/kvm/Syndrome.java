package io.aether.kvm;

/**
 * The field arithmetic behind {@link Esr}: ESR_EL2's exception classes (EC) and the ISS fields of
 * those decoded into records, by the Arm Architecture Reference Manual's definitions.
 */
final class Syndrome {

    // Exception classes decoded into their own records (ESR_EL2.EC).
    static final int EC_WFX = 0x01;
    static final int EC_HVC64 = 0x16;
    static final int EC_SMC64 = 0x17;
    static final int EC_SYS64 = 0x18;
    static final int EC_IABT_LOW = 0x20;
    static final int EC_IABT_CUR = 0x21;
    static final int EC_DABT_LOW = 0x24;
    static final int EC_DABT_CUR = 0x25;
    static final int EC_BREAKPT_LOW = 0x30;
    static final int EC_BREAKPT_CUR = 0x31;
    static final int EC_SOFTSTP_LOW = 0x32;
    static final int EC_SOFTSTP_CUR = 0x33;
    static final int EC_WATCHPT_LOW = 0x34;
    static final int EC_WATCHPT_CUR = 0x35;
    static final int EC_BRK64 = 0x3C;

    static Esr decode(long value) {
        int ec = (int) (value >>> 26) & 0x3F;
        int iss = (int) value & 0x1FF_FFFF;
        return switch (ec) {
            case EC_DABT_LOW, EC_DABT_CUR -> new Esr.DataAbort(value, ec == EC_DABT_LOW, bit(iss, 24), bits(iss, 23, 22), bit(iss, 21),
                    bits(iss, 20, 16), bit(iss, 15), bit(iss, 14), bit(iss, 10), bit(iss, 9), bit(iss, 8), bit(iss, 7), bit(iss, 6),
                    bits(iss, 5, 0));
            case EC_IABT_LOW, EC_IABT_CUR -> new Esr.InstructionAbort(value, ec == EC_IABT_LOW, bit(iss, 10), bit(iss, 9), bit(iss, 7),
                    bits(iss, 5, 0));
            case EC_HVC64 -> new Esr.Hvc(value, bits(iss, 15, 0));
            case EC_SMC64 -> new Esr.Smc(value, bits(iss, 15, 0));
            case EC_SYS64 -> new Esr.SystemRegisterAccess(value, bits(iss, 21, 20), bits(iss, 16, 14), bits(iss, 13, 10), bits(iss, 4, 1),
                    bits(iss, 19, 17), bits(iss, 9, 5), bit(iss, 0));
            case EC_BRK64 -> new Esr.Brk(value, bits(iss, 15, 0));
            case EC_SOFTSTP_LOW, EC_SOFTSTP_CUR -> new Esr.SoftwareStep(value, ec == EC_SOFTSTP_LOW, bit(iss, 24), bit(iss, 6), bits(iss, 5, 0));
            case EC_WATCHPT_LOW, EC_WATCHPT_CUR -> new Esr.Watchpoint(value, ec == EC_WATCHPT_LOW, bit(iss, 8), bit(iss, 6), bits(iss, 5, 0));
            case EC_BREAKPT_LOW, EC_BREAKPT_CUR -> new Esr.Breakpoint(value, ec == EC_BREAKPT_LOW, bits(iss, 5, 0));
            case EC_WFX -> new Esr.Wfx(value, Esr.WfxKind.values()[bits(iss, 1, 0)], bit(iss, 2), bits(iss, 9, 5));
            default -> new Esr.Other(value);
        };
    }

    private Syndrome() {
    }

    /**
     * The exception class's name, after Linux's {@code ESR_ELx_EC_*} mnemonics, with what it means.
     * Unallocated classes are named as such.
     */
    static String className(int ec) {
        return switch (ec) {
            case 0x00 -> "UNKNOWN (unknown reason)";
            case EC_WFX -> "WFx (WFI/WFE trapped)";
            case 0x03 -> "CP15_32 (AArch32 MCR/MRC to coprocessor 15 trapped)";
            case 0x04 -> "CP15_64 (AArch32 MCRR/MRRC to coprocessor 15 trapped)";
            case 0x05 -> "CP14_MR (AArch32 MCR/MRC to coprocessor 14 trapped)";
            case 0x06 -> "CP14_LS (AArch32 LDC/STC to coprocessor 14 trapped)";
            case 0x07 -> "FP_ASIMD (SVE, SIMD or floating-point access trapped)";
            case 0x08 -> "CP10_ID (AArch32 VMRS trapped)";
            case 0x09 -> "PAC (pointer authentication instruction trapped)";
            case 0x0A -> "OTHER (LD64B/ST64B or other instruction trapped)";
            case 0x0C -> "CP14_64 (AArch32 MRRC to coprocessor 14 trapped)";
            case 0x0D -> "BTI (branch target exception)";
            case 0x0E -> "ILL (illegal execution state)";
            case 0x11 -> "SVC32 (AArch32 SVC)";
            case 0x12 -> "HVC32 (AArch32 HVC)";
            case 0x13 -> "SMC32 (AArch32 SMC)";
            case 0x15 -> "SVC64 (SVC)";
            case EC_HVC64 -> "HVC64 (hypervisor call)";
            case EC_SMC64 -> "SMC64 (secure monitor call)";
            case EC_SYS64 -> "SYS64 (MSR, MRS or system instruction trapped)";
            case 0x19 -> "SVE (SVE access trapped)";
            case 0x1A -> "ERET (ERET trapped)";
            case 0x1C -> "FPAC (pointer authentication failure)";
            case 0x1D -> "SME (SME access trapped)";
            case 0x1F -> "IMP_DEF (implementation defined)";
            case EC_IABT_LOW -> "IABT_LOW (instruction abort from a lower EL)";
            case EC_IABT_CUR -> "IABT_CUR (instruction abort from EL2)";
            case 0x22 -> "PC_ALIGN (PC alignment fault)";
            case EC_DABT_LOW -> "DABT_LOW (data abort from a lower EL)";
            case EC_DABT_CUR -> "DABT_CUR (data abort from EL2)";
            case 0x26 -> "SP_ALIGN (SP alignment fault)";
            case 0x27 -> "MOPS (memory copy or set instruction exception)";
            case 0x28 -> "FP_EXC32 (AArch32 floating-point exception)";
            case 0x2C -> "FP_EXC64 (floating-point exception)";
            case 0x2D -> "GCS (guarded control stack exception)";
            case 0x2F -> "SERROR (SError interrupt)";
            case EC_BREAKPT_LOW -> "BREAKPT_LOW (breakpoint from a lower EL)";
            case EC_BREAKPT_CUR -> "BREAKPT_CUR (breakpoint from EL2)";
            case EC_SOFTSTP_LOW -> "SOFTSTP_LOW (software step from a lower EL)";
            case EC_SOFTSTP_CUR -> "SOFTSTP_CUR (software step from EL2)";
            case EC_WATCHPT_LOW -> "WATCHPT_LOW (watchpoint from a lower EL)";
            case EC_WATCHPT_CUR -> "WATCHPT_CUR (watchpoint from EL2)";
            case 0x38 -> "BKPT32 (AArch32 BKPT)";
            case 0x3A -> "VECTOR32 (AArch32 vector catch)";
            case EC_BRK64 -> "BRK64 (BRK instruction)";
            default -> "unallocated exception class 0x%02x".formatted(ec);
        };
    }

    /** A data or instruction fault status code (DFSC/IFSC) by name; the level is the translation table level. */
    static String faultStatusName(int code) {
        int level = code & 3;
        if (code <= 0x03) return "address size fault, level " + level;
        if (code <= 0x07) return "translation fault, level " + level;
        if (code <= 0x0B) return "access flag fault, level " + level;
        if (code <= 0x0F) return "permission fault, level " + level;
        if (code >= 0x14 && code <= 0x17) return "synchronous external abort on a table walk, level " + level;
        if (code >= 0x1C && code <= 0x1F) return "parity or ECC error on a table walk, level " + level;
        return switch (code) {
            case 0x10 -> "synchronous external abort";
            case 0x11 -> "synchronous tag check fault";
            case 0x18 -> "parity or ECC error";
            case 0x21 -> "alignment fault";
            case 0x22 -> "debug exception";
            case 0x30 -> "TLB conflict abort";
            case 0x31 -> "unsupported atomic hardware update";
            case 0x34 -> "implementation defined fault (lockdown)";
            case 0x35 -> "implementation defined fault (unsupported exclusive or atomic access)";
            default -> "fault status 0x%02x".formatted(code);
        };
    }

    static StringBuilder head(Esr e) {
        return new StringBuilder("ESR_EL2=0x").append(Long.toHexString(e.value())).append(" EC=0x")
                .append("%02x".formatted(e.exceptionClass())).append(' ').append(className(e.exceptionClass()))
                .append(e.instruction32() ? " IL=32" : " IL=16").append(':');
    }

    static String faultStatus(String field, int code) {
        return " %s=0x%02x (%s)".formatted(field, code, faultStatusName(code));
    }

    static String sizeName(int accessSizeLog2) {
        return switch (accessSizeLog2) {
            case 0 -> "byte";
            case 1 -> "halfword";
            case 2 -> "word";
            default -> "doubleword";
        };
    }

    static String xRegister(int n) {
        return n == 31 ? "xzr" : "x" + n;
    }

    /** " NAME=1" or " NAME=0". */
    static String flag(String name, boolean b) {
        return " " + name + (b ? "=1" : "=0");
    }

    private static boolean bit(long v, int bit) {
        return (v >>> bit & 1) != 0;
    }

    private static int bits(int v, int high, int low) {
        return (v >>> low) & ((1 << (high - low + 1)) - 1);
    }
}
