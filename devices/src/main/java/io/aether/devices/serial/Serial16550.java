package io.aether.devices.serial;

import io.aether.common.BusDevice;
import io.aether.common.InterruptLine;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A 16550A UART as Linux's 8250 driver expects it on COM1 (I/O ports {@value #COM1_PORT} to
 * 0x3FF, IRQ {@value #COM1_IRQ}): eight byte-wide registers, 16-byte receive FIFO, scratch
 * register, divisor latch and the loopback mode that the driver's autoconfiguration checks.
 *
 * <p>Transmission is instant: each byte written to THR goes to the output stream at once (which
 * is not flushed: the stream's owner flushes), so THRE and TEMT always read 1. Received bytes come from the host through {@link #enqueueInput},
 * into a bounded backlog that feeds the receive FIFO as the guest reads; when the backlog is full
 * the call accepts fewer bytes, which is how the monitor applies back-pressure. The FIFO trigger
 * level and the character timeout are not emulated: "received data available" is pending
 * whenever the FIFO holds a byte.
 *
 * <p>Interrupts (priority order): receiver line status (overrun), received data available,
 * transmitter holding register empty, modem status; each only when enabled in IER. The line is
 * high exactly while one is pending. Thread-safe: vCPU accesses and host input may race.
 */
public final class Serial16550 implements BusDevice {

    /** COM1's first I/O port. */
    public static final int COM1_PORT = 0x3F8;
    /** COM1's interrupt on the PC's interrupt controllers. */
    public static final int COM1_IRQ = 4;
    /** I/O ports the UART decodes. */
    public static final int PORT_COUNT = 8;
    /** Default size of the host-input backlog. */
    public static final int DEFAULT_INPUT_CAPACITY = 4096;

    static final int DATA = 0;
    static final int IER = 1;
    static final int IIR_FCR = 2;
    static final int LCR = 3;
    static final int MCR = 4;
    static final int LSR = 5;
    static final int MSR = 6;
    static final int SCR = 7;

    static final int IER_RDA = 0x01;
    static final int IER_THRE = 0x02;
    static final int IER_RLS = 0x04;
    static final int IER_MS = 0x08;

    static final int IIR_NONE = 0x01;
    static final int IIR_MS = 0x00;
    static final int IIR_THRE = 0x02;
    static final int IIR_RDA = 0x04;
    static final int IIR_RLS = 0x06;
    static final int IIR_FIFO_ENABLED = 0xC0;

    static final int FCR_ENABLE = 0x01;
    static final int FCR_CLEAR_RX = 0x02;

    static final int LCR_DLAB = 0x80;

    static final int MCR_DTR = 0x01;
    static final int MCR_RTS = 0x02;
    static final int MCR_OUT1 = 0x04;
    static final int MCR_OUT2 = 0x08;
    static final int MCR_LOOP = 0x10;

    static final int LSR_DR = 0x01;
    static final int LSR_OE = 0x02;
    static final int LSR_THRE = 0x20;
    static final int LSR_TEMT = 0x40;

    static final int MSR_DCTS = 0x01;
    static final int MSR_DDSR = 0x02;
    static final int MSR_TERI = 0x04;
    static final int MSR_DDCD = 0x08;
    static final int MSR_CTS = 0x10;
    static final int MSR_DSR = 0x20;
    static final int MSR_RI = 0x40;
    static final int MSR_DCD = 0x80;

    static final int FIFO_SIZE = 16;

    /**
     * Counters.
     *
     * @param bytesOut bytes the guest transmitted to the output stream
     * @param bytesIn bytes the guest read from the receive FIFO
     * @param inputRefused host bytes {@link #enqueueInput} did not accept (backlog full)
     * @param inputDropped received bytes lost: overruns in loopback, FIFO clears by the guest
     * @param outputErrors writes to the output stream that failed (the byte is lost)
     * @param badAccesses accesses of a wrong size or offset, writes to read-only registers
     */
    public record Counters(long bytesOut, long bytesIn, long inputRefused, long inputDropped, long outputErrors,
                           long badAccesses) {
    }

    private final OutputStream out;
    private final InterruptLine irq;
    private final Runnable inputSpace;
    private final ByteRing backlog;
    private final ByteRing fifo = new ByteRing(FIFO_SIZE);

    private int ier;
    private int lcr;
    private int mcr;
    private int msrDelta;
    private int scr;
    private int dll = 12; // 9600 baud, as firmware leaves it
    private int dlm;
    private boolean fifoEnabled;
    private boolean overrun;
    private boolean thrPending;
    private boolean lineHigh;
    private boolean refusedInput;

    private long bytesOut;
    private long bytesIn;
    private long inputRefused;
    private long inputDropped;
    private long outputErrors;
    private long badAccesses;

    /** A UART with the default input backlog and no space-available callback. */
    public Serial16550(OutputStream out, InterruptLine irq) {
        this(out, irq, DEFAULT_INPUT_CAPACITY, () -> { });
    }

    /**
     * @param out where transmitted bytes go, one {@code write} and {@code flush} per byte
     * @param irq the interrupt line (IRQ 4 for COM1)
     * @param inputCapacity bytes of host input held beyond the FIFO, at least 1
     * @param inputSpace called (on the vCPU thread, under the UART's lock; it must not block) when
     *     the backlog gains room after {@link #enqueueInput} refused bytes
     */
    public Serial16550(OutputStream out, InterruptLine irq, int inputCapacity, Runnable inputSpace) {
        if (inputCapacity < 1) throw new IllegalArgumentException("serial input capacity must be positive: " + inputCapacity);
        this.out = Objects.requireNonNull(out, "out");
        this.irq = Objects.requireNonNull(irq, "irq");
        this.inputSpace = Objects.requireNonNull(inputSpace, "inputSpace");
        this.backlog = new ByteRing(inputCapacity);
    }

    /**
     * Queues bytes typed on the host for the guest.
     *
     * @return how many bytes from the start of {@code data} were accepted; the caller keeps the
     *     rest and offers them again later
     */
    public synchronized int enqueueInput(byte[] data) {
        int accepted = 0;
        while (accepted < data.length) {
            int n = Math.min(data.length - accepted, backlog.free());
            if (n == 0) break;
            for (int i = 0; i < n; i++) backlog.add(data[accepted++]);
            refill(); // the FIFO may take some, making room in the backlog
        }
        if (accepted < data.length) {
            inputRefused += data.length - accepted;
            refusedInput = true;
        }
        updateInterrupt();
        return accepted;
    }

    /** Bytes {@link #enqueueInput} would accept now (backlog and FIFO room). */
    public synchronized int inputSpace() {
        int fifoRoom = (mcr & MCR_LOOP) != 0 ? 0 : Math.max(0, fifoDepth() - fifo.size() - backlog.size());
        return backlog.free() + fifoRoom;
    }

    /** Received bytes held (FIFO and backlog), for tests. */
    synchronized int buffered() {
        return fifo.size() + backlog.size();
    }

    public synchronized Counters counters() {
        return new Counters(bytesOut, bytesIn, inputRefused, inputDropped, outputErrors, badAccesses);
    }

    /** The most host input a saved UART may hold: larger backlogs are refused before they are read. */
    static final int MAX_SAVED_BACKLOG = 1 << 20;

    /**
     * The UART's state: every register and the received bytes. Transmission is instant, so nothing
     * waits to go out; THR/TEMT are always empty and the IIR/LSR values follow from these fields.
     *
     * @param ier interrupt enables (4 bits)
     * @param lcr line control, DLAB included
     * @param mcr modem control (5 bits)
     * @param msrDelta the MSR change bits not yet read (DCTS, DDSR, TERI, DDCD)
     * @param scr the scratch register
     * @param dll the divisor latch's low byte
     * @param dlm the divisor latch's high byte
     * @param fifoEnabled FCR bit 0
     * @param overrun a receiver overrun not yet read from LSR
     * @param thrPending a THRE interrupt not yet acknowledged
     * @param fifo the receive FIFO, oldest first: at most 16 bytes, 1 with the FIFO disabled
     * @param backlog host input waiting for room in the FIFO, oldest first
     */
    public record State(int ier, int lcr, int mcr, int msrDelta, int scr, int dll, int dlm, boolean fifoEnabled,
                        boolean overrun, boolean thrPending, byte[] fifo, byte[] backlog) {

        public State {
            checkBits("ier", ier, 0x0F);
            checkBits("lcr", lcr, 0xFF);
            checkBits("mcr", mcr, 0x1F);
            checkBits("msrDelta", msrDelta, MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD);
            checkBits("scr", scr, 0xFF);
            checkBits("dll", dll, 0xFF);
            checkBits("dlm", dlm, 0xFF);
            int depth = fifoEnabled ? FIFO_SIZE : 1;
            if (fifo.length > depth) {
                throw new IllegalArgumentException("fifo: " + fifo.length + " bytes is more than its depth " + depth);
            }
            if (backlog.length > MAX_SAVED_BACKLOG) {
                throw new IllegalArgumentException("backlog: " + backlog.length + " bytes is more than " + MAX_SAVED_BACKLOG);
            }
            // Outside loopback, host input moves into the FIFO whenever it has room.
            if ((mcr & MCR_LOOP) == 0 && backlog.length > 0 && fifo.length < depth) {
                throw new IllegalArgumentException("backlog: host input waits while the FIFO has room");
            }
            fifo = fifo.clone();
            backlog = backlog.clone();
        }

        private static void checkBits(String field, int value, int allowed) {
            if ((value & ~allowed) != 0) {
                throw new IllegalArgumentException(field + ": 0x" + Integer.toHexString(value) + " has bits outside 0x"
                        + Integer.toHexString(allowed));
            }
        }

        @Override
        public byte[] fifo() {
            return fifo.clone();
        }

        @Override
        public byte[] backlog() {
            return backlog.clone();
        }

        /** Writes the fields in the order {@link #read} takes them. */
        public void write(StateWriter out) {
            out.u8(ier).u8(lcr).u8(mcr).u8(msrDelta).u8(scr).u8(dll).u8(dlm).bool(fifoEnabled).bool(overrun)
                    .bool(thrPending).bytes(fifo).bytes(backlog);
        }

        public static State read(StateReader in) throws SnapshotException {
            int ier = in.u8("ier");
            int lcr = in.u8("lcr");
            int mcr = in.u8("mcr");
            int msrDelta = in.u8("msrDelta");
            int scr = in.u8("scr");
            int dll = in.u8("dll");
            int dlm = in.u8("dlm");
            boolean fifoEnabled = in.bool("fifoEnabled");
            boolean overrun = in.bool("overrun");
            boolean thrPending = in.bool("thrPending");
            byte[] fifo = in.bytes("fifo", FIFO_SIZE);
            byte[] backlog = in.bytes("backlog", MAX_SAVED_BACKLOG);
            return in.build(() -> new State(ier, lcr, mcr, msrDelta, scr, dll, dlm, fifoEnabled, overrun, thrPending, fifo, backlog));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof State s && s.ier == ier && s.lcr == lcr && s.mcr == mcr && s.msrDelta == msrDelta
                    && s.scr == scr && s.dll == dll && s.dlm == dlm && s.fifoEnabled == fifoEnabled && s.overrun == overrun
                    && s.thrPending == thrPending && Arrays.equals(s.fifo, fifo) && Arrays.equals(s.backlog, backlog);
        }

        @Override
        public int hashCode() {
            return Objects.hash(ier, lcr, mcr, msrDelta, scr, dll, dlm, fifoEnabled, overrun, thrPending,
                    Arrays.hashCode(fifo), Arrays.hashCode(backlog));
        }

        @Override
        public String toString() {
            return "State[ier=" + ier + ", lcr=" + lcr + ", mcr=" + mcr + ", msrDelta=" + msrDelta + ", scr=" + scr
                    + ", dll=" + dll + ", dlm=" + dlm + ", fifoEnabled=" + fifoEnabled + ", overrun=" + overrun
                    + ", thrPending=" + thrPending + ", fifo=" + HexFormat.of().formatHex(fifo) + ", backlog="
                    + HexFormat.of().formatHex(backlog) + "]";
        }
    }

    /** The UART's state, taken under its lock. */
    public synchronized State state() {
        return new State(ier, lcr, mcr, msrDelta, scr, dll, dlm, fifoEnabled, overrun, thrPending, fifo.toArray(),
                backlog.toArray());
    }

    /**
     * Puts the UART into {@code state}, counters kept, and drives the interrupt line to match.
     *
     * @throws IllegalArgumentException naming the field, if the backlog is larger than this UART's
     *     input capacity; the UART is then unchanged
     */
    public synchronized void restore(State state) {
        if (state.backlog.length > backlog.capacity()) {
            throw new IllegalArgumentException("backlog: " + state.backlog.length + " bytes is more than this UART's input capacity "
                    + backlog.capacity());
        }
        ier = state.ier;
        lcr = state.lcr;
        mcr = state.mcr;
        msrDelta = state.msrDelta;
        scr = state.scr;
        dll = state.dll;
        dlm = state.dlm;
        fifoEnabled = state.fifoEnabled;
        overrun = state.overrun;
        thrPending = state.thrPending;
        fifo.clear();
        for (byte b : state.fifo) fifo.add(b);
        backlog.clear();
        for (byte b : state.backlog) backlog.add(b);
        refusedInput = false;
        updateInterrupt();
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        if (data.length != 1 || offset < 0 || offset >= PORT_COUNT) {
            java.util.Arrays.fill(data, (byte) 0);
            badAccesses++;
            return;
        }
        data[0] = (byte) readRegister((int) offset);
        updateInterrupt();
    }

    @Override
    public synchronized void write(long offset, byte[] data) {
        if (data.length != 1 || offset < 0 || offset >= PORT_COUNT) {
            badAccesses++;
            return;
        }
        writeRegister((int) offset, data[0] & 0xFF);
        updateInterrupt();
    }

    private int readRegister(int offset) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch (offset) {
            case DATA -> dlab ? dll : receive();
            case IER -> dlab ? dlm : ier;
            case IIR_FCR -> readIir();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> {
                int v = (fifo.isEmpty() ? 0 : LSR_DR) | (overrun ? LSR_OE : 0) | LSR_THRE | LSR_TEMT;
                overrun = false; // reading LSR clears the error bits and the line status interrupt
                yield v;
            }
            case MSR -> {
                int v = modemInputs() | msrDelta;
                msrDelta = 0;
                yield v;
            }
            case SCR -> scr;
            default -> throw new IllegalStateException("offset checked above: " + offset);
        };
    }

    private void writeRegister(int offset, int value) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (offset) {
            case DATA -> {
                if (dlab) dll = value;
                else transmit((byte) value);
            }
            case IER -> {
                if (dlab) {
                    dlm = value;
                } else {
                    int changed = (ier ^ value) & IER_THRE;
                    ier = value & 0x0F;
                    // Enabling ETBEI with THR empty raises THRE at once; the 8250 driver tests this.
                    if (changed != 0) thrPending = (ier & IER_THRE) != 0;
                }
            }
            case IIR_FCR -> writeFcr(value);
            case LCR -> lcr = value;
            case MCR -> writeMcr(value);
            case SCR -> scr = value;
            case LSR, MSR -> badAccesses++;
            default -> throw new IllegalStateException("offset checked above: " + offset);
        }
    }

    private int receive() {
        if (fifo.isEmpty()) return 0;
        int b = fifo.remove() & 0xFF;
        bytesIn++;
        refill();
        return b;
    }

    private int readIir() {
        int id = pendingInterrupt();
        // Reading IIR while THRE is the reported source acknowledges it (16550 data sheet).
        if (id == IIR_THRE) thrPending = false;
        return id | (fifoEnabled ? IIR_FIFO_ENABLED : 0);
    }

    private void transmit(byte b) {
        if ((mcr & MCR_LOOP) != 0) {
            // Loopback: the transmitter feeds the receiver; a full FIFO overruns.
            if (fifo.size() >= fifoDepth()) {
                overrun = true;
                inputDropped++;
            } else {
                fifo.add(b);
            }
        } else {
            try {
                // Not flushed: the stream decides when its bytes reach their sink (the monitor's
                // console gathers a line into one write), rather than a write call per byte.
                out.write(b);
                bytesOut++;
            } catch (IOException e) {
                outputErrors++;
            }
        }
        thrPending = true; // the byte left at once: THR is empty again
    }

    private void writeFcr(int value) {
        boolean enable = (value & FCR_ENABLE) != 0;
        if (enable != fifoEnabled) {
            // Switching FIFO mode clears the FIFOs.
            clearReceiveFifo();
            fifoEnabled = enable;
        } else if (enable && (value & FCR_CLEAR_RX) != 0) {
            clearReceiveFifo();
        }
        refill();
    }

    private void clearReceiveFifo() {
        inputDropped += fifo.size();
        fifo.clear();
    }

    private void writeMcr(int value) {
        int before = modemInputs();
        mcr = value & 0x1F;
        int after = modemInputs();
        int changed = before ^ after;
        if ((changed & MSR_CTS) != 0) msrDelta |= MSR_DCTS;
        if ((changed & MSR_DSR) != 0) msrDelta |= MSR_DDSR;
        if ((changed & MSR_DCD) != 0) msrDelta |= MSR_DDCD;
        if ((before & MSR_RI) != 0 && (after & MSR_RI) == 0) msrDelta |= MSR_TERI;
        refill();
    }

    /** The modem inputs: wired to MCR in loopback, else a connected host (CTS, DSR, DCD). */
    private int modemInputs() {
        if ((mcr & MCR_LOOP) == 0) return MSR_CTS | MSR_DSR | MSR_DCD;
        int v = 0;
        if ((mcr & MCR_RTS) != 0) v |= MSR_CTS;
        if ((mcr & MCR_DTR) != 0) v |= MSR_DSR;
        if ((mcr & MCR_OUT1) != 0) v |= MSR_RI;
        if ((mcr & MCR_OUT2) != 0) v |= MSR_DCD;
        return v;
    }

    private int fifoDepth() {
        return fifoEnabled ? FIFO_SIZE : 1;
    }

    /** Moves host input into the FIFO; in loopback the external input is disconnected and waits. */
    private void refill() {
        if ((mcr & MCR_LOOP) != 0) return;
        boolean moved = false;
        while (!backlog.isEmpty() && fifo.size() < fifoDepth()) {
            fifo.add(backlog.remove());
            moved = true;
        }
        if (moved && refusedInput) {
            refusedInput = false;
            inputSpace.run();
        }
    }

    /** The IIR interrupt id now pending, without IIR's read side effect. */
    int pendingInterrupt() {
        if ((ier & IER_RLS) != 0 && overrun) return IIR_RLS;
        if ((ier & IER_RDA) != 0 && !fifo.isEmpty()) return IIR_RDA;
        if ((ier & IER_THRE) != 0 && thrPending) return IIR_THRE;
        if ((ier & IER_MS) != 0 && msrDelta != 0) return IIR_MS;
        return IIR_NONE;
    }

    private void updateInterrupt() {
        boolean want = pendingInterrupt() != IIR_NONE;
        if (want != lineHigh) {
            lineHigh = want;
            irq.set(want);
        }
    }

    /** A fixed-capacity byte queue. */
    private static final class ByteRing {
        private final byte[] bytes;
        private int head;
        private int size;

        ByteRing(int capacity) {
            bytes = new byte[capacity];
        }

        int size() {
            return size;
        }

        int free() {
            return bytes.length - size;
        }

        int capacity() {
            return bytes.length;
        }

        byte[] toArray() {
            byte[] copy = new byte[size];
            for (int i = 0; i < size; i++) copy[i] = bytes[(head + i) % bytes.length];
            return copy;
        }

        boolean isEmpty() {
            return size == 0;
        }

        void add(byte b) {
            bytes[(head + size) % bytes.length] = b;
            size++;
        }

        byte remove() {
            byte b = bytes[head];
            head = (head + 1) % bytes.length;
            size--;
            return b;
        }

        void clear() {
            head = 0;
            size = 0;
        }
    }
}
