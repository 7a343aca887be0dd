package io.aether.devices.i8042;

import io.aether.common.BusDevice;
import io.aether.devices.PowerEvents;
import java.util.Arrays;
import java.util.Objects;

/**
 * The little of the i8042 keyboard controller a microVM needs: the CPU reset line. One bus device
 * over I/O ports 0x60 to 0x64 ({@value #PORT_COUNT} ports from {@value #BASE_PORT}); offset 0 is
 * the data port, offset 4 the command/status port. Command 0xFE ("pulse reset line") asks for a
 * reset; the status register reads 0 (output buffer empty: no data; input buffer empty: ready
 * for a command); everything else is ignored.
 */
public final class I8042 implements BusDevice {

    public static final int BASE_PORT = 0x60;
    public static final int PORT_COUNT = 5;

    static final int DATA = 0;
    static final int COMMAND = 4;
    static final int CMD_RESET_CPU = 0xFE;

    /**
     * Counters.
     *
     * @param resetRequests 0xFE commands received
     * @param ignoredAccesses other accesses (other commands, data writes, other sizes and offsets)
     */
    public record Counters(long resetRequests, long ignoredAccesses) {
    }

    private final PowerEvents power;
    private long resetRequests;
    private long ignoredAccesses;

    public I8042(PowerEvents power) {
        this.power = Objects.requireNonNull(power, "power");
    }

    public synchronized Counters counters() {
        return new Counters(resetRequests, ignoredAccesses);
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        // Data and status both read 0: nothing to read, ready to accept a command.
        Arrays.fill(data, (byte) 0);
        if (data.length != 1 || (offset != DATA && offset != COMMAND)) ignoredAccesses++;
    }

    @Override
    public void write(long offset, byte[] data) {
        boolean reset;
        synchronized (this) {
            reset = data.length == 1 && offset == COMMAND && (data[0] & 0xFF) == CMD_RESET_CPU;
            if (reset) resetRequests++;
            else ignoredAccesses++;
        }
        // Outside the lock: the callback stops the VM and must not wait on this device.
        if (reset) power.reset();
    }
}
