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
    /** The guest RAM the stub needs. */
    public static final long MEMORY_SIZE = 2L << 20;

    static final long GDT = 0x500;
    static final long PML4 = 0x9000;
    private static final long PDPT = 0xA000;
    private static final long PD = 0xB000;
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
         * Executes an undefined instruction with no interrupt table: #UD, then #GP, then a
         * double fault that cannot be delivered either, which is a triple fault.
         */
        CRASH
    }

    /** The byte that ends the {@link Program#ECHO} program (Ctrl-D). */
    public static final int END_OF_ECHO = 0x04;

    /** A block of bytes to place at a guest-physical address. */
    public record Chunk(long address, byte[] bytes) {
    }

    private StubGuest() {
    }

    /** The stub's memory image for {@code program}: GDT, page tables and code. */
    public static List<Chunk> image(Program program) {
        return List.of(new Chunk(GDT, gdt()), new Chunk(PML4, pageTables()), new Chunk(ENTRY, code(program)));
    }

    /** Null, 64-bit code, flat data, flat 32-bit code; then the GDTR image (limit, base). */
    static byte[] gdt() {
        ByteBuffer b = ByteBuffer.allocate(32 + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0);
        b.putLong(0x00AF9A000000FFFFL);  // CODE64: present, DPL 0, L=1, G=1
        b.putLong(0x00CF92000000FFFFL);  // DATA: flat 4 GiB read/write
        b.putLong(0x00CF9A000000FFFFL);  // CODE32: flat 4 GiB, D=1
        b.putShort((short) (32 - 1));
        b.putInt((int) GDT);
        return b.array();
    }

    static int gdtr() {
        return (int) GDT + 32;
    }

    /** PML4 -> PDPT -> PD of 512 2-MiB pages: the first GiB identity-mapped. */
    static byte[] pageTables() {
        ByteBuffer b = ByteBuffer.allocate(3 * 4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0, PDPT | 0x3);
        b.putLong(4096, PD | 0x3);
        for (int i = 0; i < 512; i++) b.putLong(2 * 4096 + i * 8, ((long) i << 21) | 0x83);
        return b.array();
    }

    static byte[] code(Program program) {
        byte[] message = MESSAGE.getBytes(StandardCharsets.US_ASCII);
        Asm a = new Asm(ENTRY);
        a.bits(16);
        a.cli().lgdt(gdtr());
        a.movEaxFromCr(0).orEax(1).movCrFromEax(0);                  // CR0.PE
        a.jmpFar(CODE32, "protected");

        a.bits(32).label("protected");
        a.movImm(0, DATA).movSregFromAx(3).movSregFromAx(0).movSregFromAx(2); // ds, es, ss
        a.movEaxFromCr(4).orEax(1 << 5).movCrFromEax(4);             // CR4.PAE
        a.movImm(0, PML4).movCrFromEax(3);                           // CR3
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
            case CRASH -> a.ud2();
        }
        a.label("halt").hlt().jmp("halt");
        a.label("message").bytes(message);
        return a.assemble();
    }
}
