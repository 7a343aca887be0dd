package io.aether.arch.aarch64;

import java.nio.charset.StandardCharsets;

/**
 * The arm64 built-in stub guest: A64 code generated here (by {@link A64}) that the boot vCPU
 * enters at EL1, writes a message byte by byte to the 16550's transmit register at
 * {@link Layout#UART_BASE} (each store an MMIO exit), runs one of the {@link Program}s and
 * powers off through PSCI SYSTEM_OFF over HVC, which KVM answers with a system event. It needs
 * no interrupt controller, no stack and no device tree.
 */
public final class StubGuest {

    /** The guest prints exactly this line first. */
    public static final String MESSAGE = "Aether stub guest: hello from EL1\r\n";
    /** What {@link Program#COUNT} prints, again and again. */
    public static final String COUNT_LINE = "0123456789\r\n";
    /** The byte that ends {@link Program#ECHO} (Ctrl-D). */
    public static final int END_OF_ECHO = 0x04;
    /** Where the code starts: the first byte of RAM. */
    public static final long ENTRY = Layout.RAM_BASE;

    /** PSCI 0.2 SYSTEM_OFF, an SMC32 fast call (function id in w0). */
    static final int PSCI_SYSTEM_OFF = Smccc.fastCall32(Smccc.OWNER_STANDARD_SECURE, 8);
    /** What {@link Program#HYPERCALL} passes in x1 ('A'), and the line it prints when the monitor answers. */
    public static final int HYPERCALL_ARGUMENT = 'A';
    public static final String HYPERCALL_PREFIX = "hypercall: ";
    public static final String HYPERCALL_REFUSED = "refused";
    /** The 16550's line status register and its data-ready bit. */
    static final int UART_LSR = 5;
    static final int LSR_DATA_READY_BIT = 0;

    private static final int X0 = 0;
    private static final int UART = 1;
    private static final int TEXT = 2;
    private static final int BYTE = 3;
    /** The UART's address while x1 carries the hypercall's argument and answer. */
    private static final int UART_DURING_CALL = 4;

    /** What the stub does after its message. */
    public enum Program {
        /** Powers off. */
        HELLO,
        /** Echoes every byte it receives (polling the line status register) until Ctrl-D, then powers off. */
        ECHO,
        /** Prints {@link #COUNT_LINE} over and over, for ever. */
        COUNT,
        /**
         * Calls {@link Smccc#AETHER_NEXT} with {@link #HYPERCALL_ARGUMENT} through HVC and prints
         * {@link #HYPERCALL_PREFIX} and the answer's low byte ('B'), or {@link #HYPERCALL_REFUSED}
         * when x0 is not {@link Smccc#SUCCESS}; then powers off.
         */
        HYPERCALL
    }

    private StubGuest() {
    }

    /** The code and its strings, to be loaded at {@link #ENTRY}. */
    public static byte[] image(Program program) {
        A64 a = new A64();
        a.movz(UART, (int) (Layout.UART_BASE >>> 16), 16);
        print(a, "message", "hello");
        switch (program) {
            case HELLO -> { }
            case ECHO -> a.label("echo")
                    .ldrb(BYTE, UART, UART_LSR).tbz(BYTE, LSR_DATA_READY_BIT, "echo")
                    .ldrb(BYTE, UART, 0).cmp(BYTE, END_OF_ECHO).beq("off")
                    .strb(BYTE, UART, 0).b("echo");
            case COUNT -> {
                a.label("count");
                print(a, "line", "count-line");
                a.b("count");
            }
            case HYPERCALL -> {
                print(a, "hypercall-prefix", "prefix");
                a.movz(X0, Smccc.AETHER_NEXT & 0xFFFF, 0).movk(X0, Smccc.AETHER_NEXT >>> 16, 16)
                        .movz(UART, HYPERCALL_ARGUMENT, 0).hvc(0)
                        .movz(UART_DURING_CALL, (int) (Layout.UART_BASE >>> 16), 16)
                        .cbz(X0, "answered");
                a.movz(UART, (int) (Layout.UART_BASE >>> 16), 16);
                print(a, "hypercall-refused", "refused");
                a.b("off");
                a.label("answered").strb(UART, UART_DURING_CALL, 0).movz(UART, (int) (Layout.UART_BASE >>> 16), 16);
                print(a, "line-end", "end");
            }
        }
        a.label("off").movz(X0, PSCI_SYSTEM_OFF & 0xFFFF, 0).movk(X0, PSCI_SYSTEM_OFF >>> 16, 16).hvc(0)
                // SYSTEM_OFF does not return; should it, the guest stays here.
                .b("off");
        a.bytes("message", cString(MESSAGE));
        if (program == Program.COUNT) a.bytes("line", cString(COUNT_LINE));
        if (program == Program.HYPERCALL) {
            a.bytes("hypercall-prefix", cString(HYPERCALL_PREFIX));
            a.bytes("hypercall-refused", cString(HYPERCALL_REFUSED + "\r\n"));
            a.bytes("line-end", cString("\r\n"));
        }
        return a.assemble();
    }

    /** Writes the NUL-terminated string at {@code text} to the UART; {@code prefix} keeps the loop's labels apart. */
    private static void print(A64 a, String text, String prefix) {
        a.adr(TEXT, text).label(prefix + "-loop")
                .ldrbPostIndex(BYTE, TEXT, 1).cbz(BYTE, prefix + "-done")
                .strb(BYTE, UART, 0).b(prefix + "-loop")
                .label(prefix + "-done");
    }

    private static byte[] cString(String s) {
        byte[] ascii = s.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[ascii.length + 1];
        System.arraycopy(ascii, 0, out, 0, ascii.length);
        return out;
    }
}
