package io.aether.arch.x86_64;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The built-in stub guest: machine code generated here that starts in 16-bit real mode, loads a
 * GDT, switches to 32-bit protected mode, enables PAE paging over identity-mapped page tables
 * with EFER.LME set, enters 64-bit long mode, prints a message on the COM1 UART (waiting for
 * THR-empty before each byte, as a driver would) and halts with interrupts off.
 *
 * <p>It is the minimal guest of roadmap phase 2: it proves memory slots, vCPU entry, mode
 * switches, port I/O exits and a clean halt without any kernel. The mode switch goes through
 * protected mode, the sequence the Intel SDM (vol. 3, 10.8.5) describes for IA-32e activation.
 * After the message it runs one of the {@link Program}s.
 */
public final class StubGuest {

    /** The guest prints exactly this line, then halts. */
    public static final String MESSAGE = "Aether stub guest: hello from 64-bit long mode\r\n";

    /** Where the code starts; the vCPU enters here in real mode with CS base 0. */
    public static final long ENTRY = 0x8000;

    static final long GDT = 0x500;
    static final long PML4 = 0x9000;
    private static final int COM1 = 0x3F8;
    private static final int CODE64 = 0x08;
    private static final int DATA = 0x10;
    private static final int CODE32 = 0x18;

    /** What the stub does after its message. */
    public enum Program {
        /** Halts. */
        HELLO,
        /**
         * Echoes every byte it receives on the UART (polling the line status register) until it
         * receives Ctrl-D, then halts: the console's input direction, without a kernel.
         */
        ECHO,
        /**
         * Prints {@link #COUNT_LINE} over and over, for ever: a guest whose progress shows on the
         * console byte by byte, and whose every byte says which must follow it.
         */
        COUNT,
        /**
         * Executes an undefined instruction with no interrupt table: #UD, then #GP, then a
         * double fault that cannot be delivered either, which is a triple fault.
         */
        CRASH,
        /**
         * Polls the i8042 keyboard controller (status port 0x64, data port 0x60) until the
         * Delete key's make code ({@link #DELETE_MAKE_CODE}, scan code set 2) arrives, as it does in
         * Ctrl-Alt-Del, then resets the machine with the controller's command 0xFE: how a guest
         * answers a graceful stop, without a kernel.
         */
        KEYBOARD
    }

    /** What the {@link Program#COUNT} program prints, again and again. */
    public static final String COUNT_LINE = "0123456789\r\n";

    /** The byte the {@link Program#KEYBOARD} program waits for: Delete pressed (after its 0xE0 prefix). */
    public static final int DELETE_MAKE_CODE = 0x71;
    private static final int I8042_DATA = 0x60;
    private static final int I8042_STATUS = 0x64;
    private static final int I8042_RESET_CPU = 0xFE;

    /** The byte that ends the {@link Program#ECHO} program (Ctrl-D). */
    public static final int END_OF_ECHO = 0x04;

    /** A block of bytes to place at a guest-physical address. */
    public record Chunk(long address, byte[] bytes) {
    }

    private StubGuest() {
    }

    /** The stub's memory image for {@code program}: GDT, page tables and code. */
    public static List<Chunk> image(Program program) {
        return List.of(new Chunk(GDT, gdt(GDT)), new Chunk(PML4, pageTables(PML4)), new Chunk(ENTRY, code(program)));
    }

    /** The I/O port of QEMU's {@code isa-debug-exit} device in {@link #firmware()}. */
    public static final int QEMU_DEBUG_EXIT_PORT = 0xF4;
    /** Size of {@link #firmware()}: a BIOS image, mapped by PC firmware loaders below 1 MiB and 4 GiB. */
    public static final int FIRMWARE_SIZE = 64 * 1024;
    private static final long FIRMWARE_BASE = 0xF_0000;

    /**
     * The same stub as a 64 KiB BIOS image for another monitor ({@code qemu-system-x86_64 -bios}),
     * so that a benchmark runs equivalent guest code under both: the reset vector at F000:FFF0
     * jumps to F000:0000, which loads the GDT from ROM and runs the {@link Program#HELLO}
     * program with its tables in ROM, then writes 0 to QEMU's isa-debug-exit port to end the
     * process (its exit status is then 1).
     */
    public static byte[] firmware() {
        return firmware(Program.HELLO);
    }

    /** {@link #firmware()} running {@code program} after the message (ECHO: an idle guest that waits for input). */
    public static byte[] firmware(Program program) {
        Asm a = new Asm(FIRMWARE_BASE).bits(16);
        a.cli().movAx16((int) (FIRMWARE_BASE >>> 4)).movSregFromAx(3);     // ds = F000
        a.lgdt(0x4000 + 32);                                               // GDTR image at ds:4020
        byte[] code = modeSwitchAndProgram(a, FIRMWARE_BASE + 0x1000, program, true);
        byte[] rom = new byte[FIRMWARE_SIZE];
        System.arraycopy(code, 0, rom, 0, code.length);
        byte[] tables = pageTables(FIRMWARE_BASE + 0x1000);
        System.arraycopy(tables, 0, rom, 0x1000, tables.length);
        byte[] gdt = gdt(FIRMWARE_BASE + 0x4000);
        System.arraycopy(gdt, 0, rom, 0x4000, gdt.length);
        byte[] reset = new Asm(FIRMWARE_BASE + 0xFFF0).bits(16).jmpFar16((int) (FIRMWARE_BASE >>> 4), 0).assemble();
        System.arraycopy(reset, 0, rom, 0xFFF0, reset.length);
        if (code.length > 0x1000) throw new IllegalStateException("firmware code overlaps its page tables");
        return rom;
    }

    /**
     * Null, 64-bit code, flat data, flat 32-bit code (accessed bits preset, so that the CPU never
     * writes the table, which may be in ROM); then the GDTR image (limit, base).
     */
    static byte[] gdt(long base) {
        ByteBuffer b = ByteBuffer.allocate(32 + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0);
        b.putLong(0x00AF9B000000FFFFL);  // CODE64: present, DPL 0, L=1, G=1
        b.putLong(0x00CF93000000FFFFL);  // DATA: flat 4 GiB read/write
        b.putLong(0x00CF9B000000FFFFL);  // CODE32: flat 4 GiB, D=1
        b.putShort((short) (32 - 1));
        b.putInt((int) base);
        return b.array();
    }

    /**
     * PML4 -> PDPT -> PD of 512 2-MiB pages: the first GiB identity-mapped. Accessed and dirty
     * bits are preset so that the page walk never writes the tables (they may be in ROM).
     */
    static byte[] pageTables(long base) {
        long table = 0x3 | 0x20;             // present, writable, accessed
        long page = 0x83 | 0x20 | 0x40;      // ... 2 MiB page, accessed, dirty
        ByteBuffer b = ByteBuffer.allocate(3 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, (base + 4096) | table);
        b.putLong(4096, (base + 2 * 4096) | table);
        for (int i = 0; i < 512; i++) b.putLong(2 * 4096 + i * 8, ((long) i << 21) | page);
        return b.array();
    }

    static byte[] code(Program program) {
        Asm a = new Asm(ENTRY).bits(16);
        a.cli().lgdt((int) GDT + 32);
        return modeSwitchAndProgram(a, PML4, program, false);
    }

    /**
     * From real mode with the GDT loaded: protected mode, long mode, the message, then the
     * program; {@code debugExit} ends with QEMU's isa-debug-exit port instead of halting.
     */
    private static byte[] modeSwitchAndProgram(Asm a, long pml4, Program program, boolean debugExit) {
        byte[] message = MESSAGE.getBytes(StandardCharsets.US_ASCII);
        a.movEaxFromCr(0).orEax(1).movCrFromEax(0);                  // CR0.PE
        a.jmpFar(CODE32, "protected");

        a.bits(32).label("protected");
        a.movImm(0, DATA).movSregFromAx(3).movSregFromAx(0).movSregFromAx(2); // ds, es, ss
        a.movEaxFromCr(4).orEax(1 << 5).movCrFromEax(4);             // CR4.PAE
        a.movImm(0, pml4).movCrFromEax(3);                           // CR3
        a.movImm(1, 0xC0000080L).rdmsr().orEax(1 << 8).wrmsr();      // EFER.LME
        a.movEaxFromCr(0).orEax(0x80000000L).movCrFromEax(0);        // CR0.PG: long mode active
        a.jmpFar(CODE64, "long");

        a.bits(64).label("long");
        a.movLabel(6, "message").movImm(1, message.length);          // esi, ecx
        a.label("next").movDx(COM1 + 5);                             // LSR
        a.label("wait").inAlDx().testAl(0x20).jz("wait");           // THR empty?
        a.movDx(COM1).lodsb().outDxAl().loop("next");
        switch (program) {
            case HELLO -> { }
            case ECHO -> {
                a.label("poll").movDx(COM1 + 5).inAlDx().testAl(0x01).jz("poll");   // LSR.DR: a byte waits
                a.movDx(COM1).inAlDx().cmpAl(END_OF_ECHO).jz("halt");              // RBR
                a.movDx(COM1).outDxAl().jmp("poll");                               // echo it
            }
            case COUNT -> {
                a.label("count").movLabel(6, "digits").movImm(1, COUNT_LINE.length());
                a.label("digit").movDx(COM1 + 5);
                a.label("ready").inAlDx().testAl(0x20).jz("ready");
                a.movDx(COM1).lodsb().outDxAl().loop("digit").jmp("count");
            }
            case CRASH -> a.ud2();
            case KEYBOARD -> {
                a.label("key").movDx(I8042_STATUS).inAlDx().testAl(0x01).jz("key");    // output buffer full?
                a.movDx(I8042_DATA).inAlDx().cmpAl(DELETE_MAKE_CODE).jz("reset").jmp("key");
                a.label("reset").movAl(I8042_RESET_CPU).movDx(I8042_STATUS).outDxAl();
            }
        }
        a.label("halt");
        if (debugExit) a.movAl(0).outImmAl(QEMU_DEBUG_EXIT_PORT);
        a.hlt().jmp("halt");
        a.label("message").bytes(message);
        if (program == Program.COUNT) a.label("digits").bytes(COUNT_LINE.getBytes(StandardCharsets.US_ASCII));
        return a.assemble();
    }
}
