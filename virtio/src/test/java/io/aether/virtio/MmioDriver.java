package io.aether.virtio;

import io.aether.common.BusDevice;

/**
 * A guest driver's register accesses to a virtio-mmio device, in the order Linux's virtio_mmio
 * driver performs them, for tests. Shared with the device tests through this module's test jar.
 */
public final class MmioDriver {

    public static final int MAGIC = VirtioMmioTransport.MAGIC;
    public static final int VERSION = VirtioMmioTransport.VERSION_REG;
    public static final int DEVICE_ID = VirtioMmioTransport.DEVICE_ID;
    public static final int DEVICE_FEATURES = VirtioMmioTransport.DEVICE_FEATURES;
    public static final int DEVICE_FEATURES_SEL = VirtioMmioTransport.DEVICE_FEATURES_SEL;
    public static final int DRIVER_FEATURES = VirtioMmioTransport.DRIVER_FEATURES;
    public static final int DRIVER_FEATURES_SEL = VirtioMmioTransport.DRIVER_FEATURES_SEL;
    public static final int QUEUE_SEL = VirtioMmioTransport.QUEUE_SEL;
    public static final int QUEUE_NUM_MAX = VirtioMmioTransport.QUEUE_NUM_MAX;
    public static final int QUEUE_NUM = VirtioMmioTransport.QUEUE_NUM;
    public static final int QUEUE_READY = VirtioMmioTransport.QUEUE_READY;
    public static final int QUEUE_NOTIFY = VirtioMmioTransport.QUEUE_NOTIFY;
    public static final int INTERRUPT_STATUS = VirtioMmioTransport.INTERRUPT_STATUS;
    public static final int INTERRUPT_ACK = VirtioMmioTransport.INTERRUPT_ACK;
    public static final int STATUS = VirtioMmioTransport.STATUS;
    public static final int QUEUE_DESC_LOW = VirtioMmioTransport.QUEUE_DESC_LOW;
    public static final int QUEUE_DESC_HIGH = VirtioMmioTransport.QUEUE_DESC_HIGH;
    public static final int QUEUE_DRIVER_LOW = VirtioMmioTransport.QUEUE_DRIVER_LOW;
    public static final int QUEUE_DRIVER_HIGH = VirtioMmioTransport.QUEUE_DRIVER_HIGH;
    public static final int QUEUE_DEVICE_LOW = VirtioMmioTransport.QUEUE_DEVICE_LOW;
    public static final int QUEUE_DEVICE_HIGH = VirtioMmioTransport.QUEUE_DEVICE_HIGH;
    public static final int CONFIG_GENERATION = VirtioMmioTransport.CONFIG_GENERATION;
    public static final int CONFIG = VirtioMmioTransport.CONFIG;

    private final BusDevice device;

    public MmioDriver(BusDevice device) {
        this.device = device;
    }

    public int read(int offset) {
        byte[] b = new byte[4];
        device.read(offset, b);
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    public void write(int offset, int value) {
        device.write(offset, new byte[] {(byte) value, (byte) (value >>> 8), (byte) (value >>> 16), (byte) (value >>> 24)});
    }

    /** The 64 feature bits the device offers. */
    public long deviceFeatures() {
        write(DEVICE_FEATURES_SEL, 1);
        long high = Integer.toUnsignedLong(read(DEVICE_FEATURES));
        write(DEVICE_FEATURES_SEL, 0);
        return high << 32 | Integer.toUnsignedLong(read(DEVICE_FEATURES));
    }

    /**
     * Probes the device as virtio_mmio does: reset, ACKNOWLEDGE, DRIVER, feature negotiation,
     * FEATURES_OK, the queues' setup, DRIVER_OK.
     *
     * @param features the features to accept (written as is)
     * @param queues the layout for queue 0, 1, ...
     * @return the status read back at the end
     */
    public int start(long features, MockDriver... queues) {
        if (read(MAGIC) != VirtioMmioTransport.MAGIC_VALUE || read(VERSION) != 2) {
            throw new IllegalStateException("not a virtio-mmio version 2 device");
        }
        write(STATUS, 0);
        if (read(STATUS) != 0) throw new IllegalStateException("reset did not clear status");
        write(STATUS, DeviceStatus.ACKNOWLEDGE);
        write(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        deviceFeatures();
        write(DRIVER_FEATURES_SEL, 1);
        write(DRIVER_FEATURES, (int) (features >>> 32));
        write(DRIVER_FEATURES_SEL, 0);
        write(DRIVER_FEATURES, (int) features);
        write(STATUS, read(STATUS) | DeviceStatus.FEATURES_OK);
        if ((read(STATUS) & DeviceStatus.FEATURES_OK) == 0) return read(STATUS);
        for (int i = 0; i < queues.length; i++) setUpQueue(i, queues[i]);
        write(STATUS, read(STATUS) | DeviceStatus.DRIVER_OK);
        return read(STATUS);
    }

    /** One queue's setup (4.2.3.2); returns whether QueueReady reads back 1. */
    public boolean setUpQueue(int index, MockDriver q) {
        write(QUEUE_SEL, index);
        if (read(QUEUE_READY) != 0) throw new IllegalStateException("queue " + index + " already in use");
        if (read(QUEUE_NUM_MAX) == 0) throw new IllegalStateException("queue " + index + " does not exist");
        write(QUEUE_NUM, q.size());
        write(QUEUE_DESC_LOW, (int) q.descTable());
        write(QUEUE_DESC_HIGH, (int) (q.descTable() >>> 32));
        write(QUEUE_DRIVER_LOW, (int) q.availRing());
        write(QUEUE_DRIVER_HIGH, (int) (q.availRing() >>> 32));
        write(QUEUE_DEVICE_LOW, (int) q.usedRing());
        write(QUEUE_DEVICE_HIGH, (int) (q.usedRing() >>> 32));
        write(QUEUE_READY, 1);
        return read(QUEUE_READY) == 1;
    }

    public void notifyQueue(int index) {
        write(QUEUE_NOTIFY, index);
    }

    /** What the interrupt handler does: read InterruptStatus and acknowledge it; returns it. */
    public int acknowledgeInterrupt() {
        int status = read(INTERRUPT_STATUS);
        write(INTERRUPT_ACK, status);
        return status;
    }

    /** Reads {@code length} (1, 2, 4 or 8) bytes of configuration space. */
    public byte[] readConfig(int offset, int length) {
        byte[] b = new byte[length];
        device.read(CONFIG + offset, b);
        return b;
    }
}
