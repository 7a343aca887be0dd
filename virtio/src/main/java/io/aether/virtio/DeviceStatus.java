package io.aether.virtio;

/** Bits of the device status field (virtio 1.2, section 2.1). */
public final class DeviceStatus {

    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    /** Set by the device after a guest error it cannot recover from; the driver must reset it. */
    public static final int DEVICE_NEEDS_RESET = 64;
    public static final int FAILED = 128;

    private DeviceStatus() {
    }
}
