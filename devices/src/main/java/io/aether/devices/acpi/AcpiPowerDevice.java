package io.aether.devices.acpi;

import io.aether.common.BusDevice;
import io.aether.devices.PowerEvents;
import java.util.Arrays;
import java.util.Objects;

/**
 * The sleep and reset registers of a hardware-reduced ACPI platform (ACPI 6.5, section 4.8.3,
 * fixed hardware registers), as the FADT's SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG declare them: one
 * {@value #SIZE}-byte bus device at I/O port {@value #BASE_PORT}, byte-wide registers.
 * <ul>
 *   <li>offset 0, sleep control: a write with SLP_EN (bit 5) and SLP_TYP (bits 4:2) =
 *       {@value #SLP_TYP_S5} enters S5, soft off; other sleep types are ignored;</li>
 *   <li>offset 1, sleep status: reads 0, writes (clearing WAK_STS before sleeping) are ignored;</li>
 *   <li>offset 2, reset: writing {@value #RESET_VALUE} resets the machine.</li>
 * </ul>
 */
public final class AcpiPowerDevice implements BusDevice {

    public static final int BASE_PORT = 0x600;
    public static final int SIZE = 4;
    /** SLP_TYP for S5 that the DSDT's {@code \_S5} object must declare. */
    public static final int SLP_TYP_S5 = 5;
    /** RESET_VALUE that the FADT must declare. */
    public static final int RESET_VALUE = 0x01;

    static final int SLEEP_CONTROL = 0;
    static final int SLEEP_STATUS = 1;
    static final int RESET = 2;
    static final int SLP_EN = 1 << 5;

    /**
     * Counters.
     *
     * @param powerOffRequests S5 entries
     * @param resetRequests reset-register writes of the reset value
     * @param ignoredAccesses everything else
     */
    public record Counters(long powerOffRequests, long resetRequests, long ignoredAccesses) {
    }

    private final PowerEvents power;
    private long powerOffRequests;
    private long resetRequests;
    private long ignoredAccesses;

    public AcpiPowerDevice(PowerEvents power) {
        this.power = Objects.requireNonNull(power, "power");
    }

    public synchronized Counters counters() {
        return new Counters(powerOffRequests, resetRequests, ignoredAccesses);
    }

    @Override
    public synchronized void read(long offset, byte[] data) {
        // Sleep control and status read 0 (no wake event pending); the reset register is write-only.
        Arrays.fill(data, (byte) 0);
        if (data.length != 1 || offset < 0 || offset >= SIZE) ignoredAccesses++;
    }

    @Override
    public void write(long offset, byte[] data) {
        boolean off = false;
        boolean reset = false;
        synchronized (this) {
            int v = data.length == 1 ? data[0] & 0xFF : -1;
            if (v >= 0 && offset == SLEEP_CONTROL && (v & SLP_EN) != 0 && ((v >> 2) & 7) == SLP_TYP_S5) {
                off = true;
                powerOffRequests++;
            } else if (v == RESET_VALUE && offset == RESET) {
                reset = true;
                resetRequests++;
            } else {
                ignoredAccesses++;
            }
        }
        // Outside the lock: the callbacks stop the VM and must not wait on this device.
        if (off) power.powerOff();
        if (reset) power.reset();
    }
}
