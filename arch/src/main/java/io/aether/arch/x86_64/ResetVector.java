package io.aether.arch.x86_64;

/**
 * The firmware's reset vector, which a BIOS would keep at F000:FFF0 (physical 0xFFFF0): here it
 * writes the ACPI reset register and halts.
 *
 * <p>Why it is needed: on a hardware-reduced ACPI machine without EFI, Linux's x86 reboot code
 * (arch/x86/kernel/reboot.c) starts with the EFI method, finds no EFI, and falls through to the
 * BIOS method, which jumps to this address in real mode. With nothing there the guest would run
 * into zeros and hang instead of rebooting. With this stub every reboot path ends in the reset
 * register, which the monitor turns into a clean reset.
 */
final class ResetVector {

    /** Physical address of F000:FFF0. */
    static final long ADDRESS = 0xF_FFF0;

    private ResetVector() {
    }

    static byte[] code() {
        Asm a = new Asm(ADDRESS).bits(16);
        a.cli().movAl(AcpiTables.RESET_VALUE).movDx(AcpiTables.RESET_PORT).outDxAl();
        a.label("halt").hlt().jmp("halt");
        byte[] code = a.assemble();
        if (code.length > 16) throw new IllegalStateException("the reset vector has 16 bytes, the code needs " + code.length);
        return code;
    }
}
