package io.aether.devices.i8042;

import io.aether.common.BusDevice;
import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;

/**
 * An i8042 keyboard controller with an AT keyboard behind it, as much of the pair as a guest needs
 * to find the keyboard, hear Ctrl-Alt-Del from the host and reset the machine. One bus device
 * over I/O ports 0x60 to 0x64 ({@value #PORT_COUNT} ports from {@value #BASE_PORT}); offset 0 is
 * the data port, offset 4 the status (read) and command (write) port, offsets 1 to 3 read 0.
 *
 * <p>The controller answers the commands of the IBM PC/AT and PS/2 keyboard controller: read and
 * write the configuration byte (0x20, 0x60), its self-test (0xAA answers 0x55) and keyboard
 * interface test (0xAB answers 0), disable and enable the keyboard interface (0xAD, 0xAE), read
 * and write the output port (0xD0, 0xD1: bit 0 low resets the CPU), write the keyboard's output
 * buffer (0xD2), and pulse the output lines (0xF0 to 0xFF: bit 0 low, as in 0xFE, resets the CPU).
 * It has no auxiliary (mouse) port: the auxiliary interface test (0xA9) fails with
 * {@value #AUX_TEST_FAILED}, a loop-back through the auxiliary buffer (0xD3) comes back without
 * the auxiliary-data status bit, and bytes for an auxiliary device (0xD4) are dropped; a driver
 * learns at once that there is no port, instead of after a timeout. It does not translate scan
 * codes: the translation bit of the configuration byte always reads 0, so the keyboard speaks
 * scan code set 2 to the guest.
 *
 * <p>The keyboard answers what Linux's atkbd driver sends: reset (0xFF answers 0xFA 0xAA),
 * identify (0xF2 answers 0xFA 0xAB 0x83), enable and disable scanning (0xF4, 0xF5), set defaults
 * (0xF6), echo (0xEE), resend (0xFE), set LEDs (0xED) and typematic rate (0xF3) with their
 * argument, and select scan code set (0xF0: 0 asks which, 2 is accepted, 1 and 3 are refused);
 * commands it does not know are answered 0xFE (resend). {@link #pressCtrlAltDel()} types
 * Ctrl-Alt-Del while scanning is enabled. Every byte the guest can read raises IRQ 1 while the
 * configuration byte enables the keyboard interrupt: the line follows "output buffer full", so
 * each byte is a new rising edge.
 *
 * <p>All of it is bounded: the keyboard holds at most {@value #KEYBOARD_BUFFER} bytes (a key
 * sequence that does not fit is refused whole and counted), the controller's own answers at most
 * {@value #CONTROLLER_BUFFER}.
 */
public final class I8042 implements BusDevice {

    public static final int BASE_PORT = 0x60;
    public static final int PORT_COUNT = 5;
    /** The ISA interrupt the keyboard raises. */
    public static final int KEYBOARD_IRQ = 1;

    static final int DATA = 0;
    static final int COMMAND = 4;

    // Status register bits.
    static final int STATUS_OUTPUT_FULL = 0x01;
    static final int STATUS_SYSTEM = 0x04;
    static final int STATUS_LAST_WRITE_WAS_COMMAND = 0x08;
    static final int STATUS_NOT_INHIBITED = 0x10;
    static final int STATUS_AUX_DATA = 0x20;

    // Configuration byte bits.
    static final int CONFIG_KEYBOARD_INTERRUPT = 0x01;
    static final int CONFIG_SYSTEM = 0x04;
    static final int CONFIG_KEYBOARD_DISABLED = 0x10;
    static final int CONFIG_AUX_DISABLED = 0x20;
    static final int CONFIG_TRANSLATE = 0x40;
    /** After power-on self-test: system flag, keyboard interrupt on, no auxiliary port in use. */
    static final int INITIAL_CONFIG = CONFIG_SYSTEM | CONFIG_KEYBOARD_INTERRUPT | CONFIG_AUX_DISABLED;

    // Controller commands.
    static final int CMD_READ_CONFIG = 0x20;
    static final int CMD_WRITE_CONFIG = 0x60;
    static final int CMD_DISABLE_AUX = 0xA7;
    static final int CMD_ENABLE_AUX = 0xA8;
    static final int CMD_TEST_AUX = 0xA9;
    static final int CMD_SELF_TEST = 0xAA;
    static final int CMD_TEST_KEYBOARD = 0xAB;
    static final int CMD_DISABLE_KEYBOARD = 0xAD;
    static final int CMD_ENABLE_KEYBOARD = 0xAE;
    static final int CMD_READ_OUTPUT_PORT = 0xD0;
    static final int CMD_WRITE_OUTPUT_PORT = 0xD1;
    static final int CMD_WRITE_KEYBOARD_OUTPUT = 0xD2;
    static final int CMD_WRITE_AUX_OUTPUT = 0xD3;
    static final int CMD_WRITE_AUX = 0xD4;
    static final int CMD_PULSE_FIRST = 0xF0;
    static final int CMD_RESET_CPU = 0xFE;

    static final int SELF_TEST_PASSED = 0x55;
    static final int AUX_TEST_FAILED = 0x01;
    /** Output port: bit 0 is the CPU reset line (low resets), bit 1 the A20 gate. */
    static final int OUTPUT_PORT_RESET_HIGH = 0x01;
    static final int OUTPUT_PORT_A20 = 0x02;

    // Keyboard commands and answers.
    static final int KBD_SET_LEDS = 0xED;
    static final int KBD_ECHO = 0xEE;
    static final int KBD_SCAN_CODE_SET = 0xF0;
    static final int KBD_IDENTIFY = 0xF2;
    static final int KBD_SET_TYPEMATIC = 0xF3;
    static final int KBD_ENABLE = 0xF4;
    static final int KBD_DISABLE = 0xF5;
    static final int KBD_SET_DEFAULTS = 0xF6;
    static final int KBD_RESEND = 0xFE;
    static final int KBD_RESET = 0xFF;
    static final int ACK = 0xFA;
    static final int SELF_TEST_OK = 0xAA;
    /** An MF2 keyboard's identity. */
    static final int ID_FIRST = 0xAB;
    static final int ID_SECOND = 0x83;

    /** Scan code set 2: Ctrl, Alt and Delete pressed, then released in the reverse order. */
    static final byte[] CTRL_ALT_DEL = {
        0x14, 0x11, (byte) 0xE0, 0x71,
        (byte) 0xE0, (byte) 0xF0, 0x71, (byte) 0xF0, 0x11, (byte) 0xF0, 0x14};

    static final int KEYBOARD_BUFFER = 16;
    static final int CONTROLLER_BUFFER = 4;

    /**
     * Counters.
     *
     * @param resetRequests CPU resets asked for (0xFE and the other pulses of bit 0, output port writes with bit 0 low)
     * @param ctrlAltDels Ctrl-Alt-Del sequences handed to the guest's keyboard
     * @param refusedKeys key sequences refused: scanning disabled by the guest, or no room in the keyboard's buffer
     * @param ignoredAccesses accesses with no effect: unknown controller commands, other sizes and
     *     offsets, bytes for the absent auxiliary device, answers lost to a full buffer
     */
    public record Counters(long resetRequests, long ctrlAltDels, long refusedKeys, long ignoredAccesses) {
    }

    /** Controller commands that wait for a data byte. */
    private static final Set<Integer> CONTROLLER_COMMANDS_WITH_DATA = Set.of(
            CMD_WRITE_CONFIG, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_KEYBOARD_OUTPUT, CMD_WRITE_AUX_OUTPUT, CMD_WRITE_AUX);
    /** Keyboard commands that wait for an argument byte. */
    private static final Set<Integer> KEYBOARD_COMMANDS_WITH_ARGUMENT = Set.of(KBD_SET_LEDS, KBD_SET_TYPEMATIC, KBD_SCAN_CODE_SET);

    /**
     * What a snapshot keeps of the controller and its keyboard; the interrupt line follows from it.
     *
     * @param config the configuration byte (never with the translation bit)
     * @param outputPort the output port
     * @param lastWriteWasCommand status bit 3
     * @param controllerArgumentFor the controller command waiting for its data byte, or -1
     * @param keyboardArgumentFor the keyboard command waiting for its argument, or -1
     * @param scanning whether the keyboard sends keys
     * @param lastKeyboardByte what the keyboard's resend command repeats
     * @param lastRead what the data port gives while the buffers are empty
     * @param controllerOutput the controller's answers not yet read, oldest first
     * @param keyboardOutput the keyboard's bytes not yet read, oldest first
     */
    public record State(int config, int outputPort, boolean lastWriteWasCommand, int controllerArgumentFor,
                        int keyboardArgumentFor, boolean scanning, int lastKeyboardByte, int lastRead,
                        byte[] controllerOutput, byte[] keyboardOutput) {

        public State {
            checkByte("config", config);
            if ((config & CONFIG_TRANSLATE) != 0) throw new IllegalArgumentException("config: 0x" + Integer.toHexString(config) + " asks for translation, which this controller lacks");
            checkByte("outputPort", outputPort);
            checkByte("lastKeyboardByte", lastKeyboardByte);
            checkByte("lastRead", lastRead);
            if (controllerArgumentFor != -1 && !CONTROLLER_COMMANDS_WITH_DATA.contains(controllerArgumentFor)) {
                throw new IllegalArgumentException("controllerArgumentFor: 0x" + Integer.toHexString(controllerArgumentFor) + " takes no data byte");
            }
            if (keyboardArgumentFor != -1 && !KEYBOARD_COMMANDS_WITH_ARGUMENT.contains(keyboardArgumentFor)) {
                throw new IllegalArgumentException("keyboardArgumentFor: 0x" + Integer.toHexString(keyboardArgumentFor) + " takes no argument");
            }
            if (controllerOutput.length > CONTROLLER_BUFFER) {
                throw new IllegalArgumentException("controllerOutput: " + controllerOutput.length + " bytes is more than " + CONTROLLER_BUFFER);
            }
            if (keyboardOutput.length > KEYBOARD_BUFFER) {
                throw new IllegalArgumentException("keyboardOutput: " + keyboardOutput.length + " bytes is more than " + KEYBOARD_BUFFER);
            }
            controllerOutput = controllerOutput.clone();
            keyboardOutput = keyboardOutput.clone();
        }

        private static void checkByte(String field, int value) {
            if (value < 0 || value > 0xFF) throw new IllegalArgumentException(field + ": " + value + " is not a byte");
        }

        @Override
        public byte[] controllerOutput() {
            return controllerOutput.clone();
        }

        @Override
        public byte[] keyboardOutput() {
            return keyboardOutput.clone();
        }

        /** Writes the fields in the order {@link #read} takes them. */
        public void write(StateWriter out) {
            out.u8(config).u8(outputPort).bool(lastWriteWasCommand).i32(controllerArgumentFor).i32(keyboardArgumentFor)
                    .bool(scanning).u8(lastKeyboardByte).u8(lastRead).bytes(controllerOutput).bytes(keyboardOutput);
        }

        public static State read(StateReader in) throws SnapshotException {
            int config = in.u8("config");
            int outputPort = in.u8("outputPort");
            boolean lastWriteWasCommand = in.bool("lastWriteWasCommand");
            int controllerArgumentFor = in.i32("controllerArgumentFor");
            int keyboardArgumentFor = in.i32("keyboardArgumentFor");
            boolean scanning = in.bool("scanning");
            int lastKeyboardByte = in.u8("lastKeyboardByte");
            int lastRead = in.u8("lastRead");
            byte[] controllerOutput = in.bytes("controllerOutput", CONTROLLER_BUFFER);
            byte[] keyboardOutput = in.bytes("keyboardOutput", KEYBOARD_BUFFER);
            return in.build(() -> new State(config, outputPort, lastWriteWasCommand, controllerArgumentFor, keyboardArgumentFor,
                    scanning, lastKeyboardByte, lastRead, controllerOutput, keyboardOutput));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof State s && s.config == config && s.outputPort == outputPort && s.lastWriteWasCommand == lastWriteWasCommand
                    && s.controllerArgumentFor == controllerArgumentFor && s.keyboardArgumentFor == keyboardArgumentFor
                    && s.scanning == scanning && s.lastKeyboardByte == lastKeyboardByte && s.lastRead == lastRead
                    && Arrays.equals(s.controllerOutput, controllerOutput) && Arrays.equals(s.keyboardOutput, keyboardOutput);
        }

        @Override
        public int hashCode() {
            return Objects.hash(config, outputPort, lastWriteWasCommand, controllerArgumentFor, keyboardArgumentFor, scanning,
                    lastKeyboardByte, lastRead, Arrays.hashCode(controllerOutput), Arrays.hashCode(keyboardOutput));
        }

        @Override
        public String toString() {
            return "State[config=" + config + ", outputPort=" + outputPort + ", lastWriteWasCommand=" + lastWriteWasCommand
                    + ", controllerArgumentFor=" + controllerArgumentFor + ", keyboardArgumentFor=" + keyboardArgumentFor
                    + ", scanning=" + scanning + ", lastKeyboardByte=" + lastKeyboardByte + ", lastRead=" + lastRead
                    + ", controllerOutput=" + HexFormat.of().formatHex(controllerOutput) + ", keyboardOutput="
                    + HexFormat.of().formatHex(keyboardOutput) + "]";
        }
    }

    private final PowerEvents power;
    private final InterruptLine irq;
    /** The controller's own answers, read before the keyboard's bytes. */
    private final ArrayDeque<Byte> controllerOutput = new ArrayDeque<>();
    private final ArrayDeque<Byte> keyboardOutput = new ArrayDeque<>();
    private int config = INITIAL_CONFIG;
    private int outputPort = OUTPUT_PORT_RESET_HIGH | OUTPUT_PORT_A20;
    private boolean lastWriteWasCommand;
    /** The controller command waiting for its data byte, or -1. */
    private int controllerArgumentFor = -1;
    /** The keyboard command waiting for its argument byte, or -1. */
    private int keyboardArgumentFor = -1;
    private boolean scanning = true;
    private int lastKeyboardByte = ACK;
    /** What the data port gave last: an empty buffer reads it again. */
    private int lastRead;
    private boolean irqAsserted;
    private long resetRequests;
    private long ctrlAltDels;
    private long refusedKeys;
    private long ignoredAccesses;

    /**
     * @param power where reset requests go
     * @param irq the keyboard's interrupt (ISA IRQ {@value #KEYBOARD_IRQ}), or {@link InterruptLine#NONE} for a guest that polls
     */
    public I8042(PowerEvents power, InterruptLine irq) {
        this.power = Objects.requireNonNull(power, "power");
        this.irq = Objects.requireNonNull(irq, "irq");
    }

    public synchronized Counters counters() {
        return new Counters(resetRequests, ctrlAltDels, refusedKeys, ignoredAccesses);
    }

    /** The controller's and keyboard's state, taken under the device's lock. */
    public synchronized State state() {
        return new State(config, outputPort, lastWriteWasCommand, controllerArgumentFor, keyboardArgumentFor, scanning,
                lastKeyboardByte, lastRead, bytes(controllerOutput), bytes(keyboardOutput));
    }

    /** Puts the controller and keyboard into {@code state}, counters kept, and drives the interrupt line to match. */
    public synchronized void restore(State state) {
        config = state.config;
        outputPort = state.outputPort;
        lastWriteWasCommand = state.lastWriteWasCommand;
        controllerArgumentFor = state.controllerArgumentFor;
        keyboardArgumentFor = state.keyboardArgumentFor;
        scanning = state.scanning;
        lastKeyboardByte = state.lastKeyboardByte;
        lastRead = state.lastRead;
        controllerOutput.clear();
        for (byte b : state.controllerOutput) controllerOutput.add(b);
        keyboardOutput.clear();
        for (byte b : state.keyboardOutput) keyboardOutput.add(b);
        updateIrq();
    }

    private static byte[] bytes(ArrayDeque<Byte> queue) {
        byte[] out = new byte[queue.size()];
        int i = 0;
        for (byte b : queue) out[i++] = b;
        return out;
    }

    /**
     * Types Ctrl-Alt-Del on the keyboard, asking the guest to shut down or restart (what it does is
     * the guest's choice). Returns false, counted, when the guest's keyboard cannot take the keys:
     * scanning is disabled, or its buffer lacks room for the whole sequence.
     */
    public synchronized boolean pressCtrlAltDel() {
        if (!scanning || keyboardOutput.size() + CTRL_ALT_DEL.length > KEYBOARD_BUFFER) {
            refusedKeys++;
            return false;
        }
        for (byte b : CTRL_ALT_DEL) keyboardOutput.add(b);
        ctrlAltDels++;
        updateIrq();
        return true;
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        Arrays.fill(data, (byte) 0);
        if (data.length != 1) {
            ignoredAccesses++;
        } else if (offset == DATA) {
            data[0] = (byte) takeOutput();
        } else if (offset == COMMAND) {
            data[0] = (byte) status();
        } else {
            ignoredAccesses++;
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        boolean reset;
        synchronized (this) {
            if (data.length != 1 || (offset != DATA && offset != COMMAND)) {
                ignoredAccesses++;
                return;
            }
            int value = data[0] & 0xFF;
            lastWriteWasCommand = offset == COMMAND;
            reset = offset == COMMAND ? controllerCommand(value) : dataByte(value);
            if (reset) resetRequests++;
            updateIrq();
        }
        // Outside the lock: the callback stops the VM and must not wait on this device.
        if (reset) power.reset();
    }

    private int status() {
        int s = STATUS_NOT_INHIBITED | (config & CONFIG_SYSTEM);
        if (outputFull()) s |= STATUS_OUTPUT_FULL;
        if (lastWriteWasCommand) s |= STATUS_LAST_WRITE_WAS_COMMAND;
        return s;
    }

    private boolean outputFull() {
        return !controllerOutput.isEmpty() || (!keyboardOutput.isEmpty() && (config & CONFIG_KEYBOARD_DISABLED) == 0);
    }

    /** The next byte for the guest; reading an empty buffer gives the last byte again, as the chip's latch does. */
    private int takeOutput() {
        Byte next = controllerOutput.poll();
        if (next == null && (config & CONFIG_KEYBOARD_DISABLED) == 0) next = keyboardOutput.poll();
        // The line drops with "output buffer full", so that the next byte is a fresh edge.
        setIrq(false);
        updateIrq();
        if (next != null) lastRead = next & 0xFF;
        return lastRead;
    }

    /** Returns whether the command resets the CPU. */
    private boolean controllerCommand(int command) {
        // A new command abandons one still waiting for its data byte.
        controllerArgumentFor = -1;
        switch (command) {
            case CMD_READ_CONFIG -> answer(config);
            case CMD_WRITE_CONFIG, CMD_WRITE_OUTPUT_PORT, CMD_WRITE_KEYBOARD_OUTPUT, CMD_WRITE_AUX_OUTPUT, CMD_WRITE_AUX ->
                    controllerArgumentFor = command;
            case CMD_DISABLE_AUX -> config |= CONFIG_AUX_DISABLED;
            case CMD_ENABLE_AUX -> config &= ~CONFIG_AUX_DISABLED;
            case CMD_TEST_AUX -> answer(AUX_TEST_FAILED);
            case CMD_SELF_TEST -> answer(SELF_TEST_PASSED);
            case CMD_TEST_KEYBOARD -> answer(0);
            case CMD_DISABLE_KEYBOARD -> config |= CONFIG_KEYBOARD_DISABLED;
            case CMD_ENABLE_KEYBOARD -> config &= ~CONFIG_KEYBOARD_DISABLED;
            case CMD_READ_OUTPUT_PORT -> answer(outputPort);
            default -> {
                // 0xF0-0xFF pulse the output lines whose bits are 0; bit 0 is the CPU's reset.
                if (command >= CMD_PULSE_FIRST) return (command & OUTPUT_PORT_RESET_HIGH) == 0;
                ignoredAccesses++;
            }
        }
        return false;
    }

    /** A byte written to the data port: a controller command's argument, or a byte for the keyboard. Returns whether it resets the CPU. */
    private boolean dataByte(int value) {
        int command = controllerArgumentFor;
        controllerArgumentFor = -1;
        switch (command) {
            case -1 -> keyboardByte(value);
            case CMD_WRITE_CONFIG -> config = value & ~CONFIG_TRANSLATE;
            case CMD_WRITE_OUTPUT_PORT -> {
                outputPort = value;
                return (value & OUTPUT_PORT_RESET_HIGH) == 0;
            }
            case CMD_WRITE_KEYBOARD_OUTPUT -> keyboardAnswer(value);
            // Marked as keyboard data: there is no auxiliary port to loop it through.
            case CMD_WRITE_AUX_OUTPUT -> answer(value);
            case CMD_WRITE_AUX -> ignoredAccesses++;
            default -> throw new IllegalStateException("no data byte is expected for command 0x" + Integer.toHexString(command));
        }
        return false;
    }

    private void keyboardByte(int value) {
        int command = keyboardArgumentFor;
        keyboardArgumentFor = -1;
        if (command == KBD_SCAN_CODE_SET) {
            if (value == 0) {
                keyboardAnswer(ACK);
                keyboardAnswer(2);
            } else {
                keyboardAnswer(value == 2 ? ACK : KBD_RESEND);
            }
            return;
        }
        if (command != -1) {
            // The argument of set LEDs or typematic rate: nothing to model, only acknowledge.
            keyboardAnswer(ACK);
            return;
        }
        switch (value) {
            case KBD_SET_LEDS, KBD_SET_TYPEMATIC, KBD_SCAN_CODE_SET -> {
                keyboardArgumentFor = value;
                keyboardAnswer(ACK);
            }
            case KBD_ECHO -> keyboardAnswer(KBD_ECHO);
            case KBD_IDENTIFY -> {
                keyboardAnswer(ACK);
                keyboardAnswer(ID_FIRST);
                keyboardAnswer(ID_SECOND);
            }
            case KBD_ENABLE -> {
                scanning = true;
                keyboardAnswer(ACK);
            }
            case KBD_DISABLE -> {
                scanning = false;
                keyboardOutput.clear();
                keyboardAnswer(ACK);
            }
            case KBD_SET_DEFAULTS -> {
                scanning = true;
                keyboardAnswer(ACK);
            }
            case KBD_RESEND -> keyboardAnswer(lastKeyboardByte);
            case KBD_RESET -> {
                scanning = true;
                keyboardOutput.clear();
                keyboardAnswer(ACK);
                keyboardAnswer(SELF_TEST_OK);
            }
            default -> {
                // 0xF7-0xFD configure scan code set 3's keys, which this keyboard never sends.
                if (value >= 0xF7 && value <= 0xFD) keyboardAnswer(ACK);
                else keyboardAnswer(KBD_RESEND);
            }
        }
    }

    private void answer(int value) {
        if (controllerOutput.size() >= CONTROLLER_BUFFER) {
            ignoredAccesses++;
            return;
        }
        controllerOutput.add((byte) value);
    }

    private void keyboardAnswer(int value) {
        if (keyboardOutput.size() >= KEYBOARD_BUFFER) {
            ignoredAccesses++;
            return;
        }
        keyboardOutput.add((byte) value);
        if (value != KBD_RESEND) lastKeyboardByte = value;
    }

    private void updateIrq() {
        setIrq((config & CONFIG_KEYBOARD_INTERRUPT) != 0 && outputFull());
    }

    private void setIrq(boolean asserted) {
        if (asserted == irqAsserted) return;
        irqAsserted = asserted;
        irq.set(asserted);
    }
}
