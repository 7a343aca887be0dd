package io.aether.virtio;

import io.aether.common.BusDevice;
import io.aether.common.InterruptLine;
import io.aether.memory.GuestMemory;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Predicate;

/**
 * The virtio-over-MMIO transport, version 2 ("modern") only (virtio 1.2, 4.2.2): the register file
 * a driver uses to discover, negotiate with and run one {@link VirtioDevice}, mapped as a
 * {@link #REGION_SIZE}-byte MMIO region.
 *
 * <p>Registers take 32-bit aligned accesses only; others are ignored (reads answer 0) and counted.
 * Configuration space from 0x100 takes any access of 1, 2, 4 or 8 bytes inside it.
 *
 * <p>Status (2.1, 3.1.1): bits are only ever added, in order ACKNOWLEDGE, DRIVER, FEATURES_OK,
 * DRIVER_OK; a write that clears bits or skips a step is ignored and counted; FEATURES_OK is not
 * set when the driver accepted a feature that was not offered or did not accept VERSION_1;
 * DRIVER_OK activates the device; writing 0 resets device, queues and interrupts. A queue whose
 * layout is refused stays not ready (QueueReady reads 0). A queue stopped by a guest error, or a
 * device that failed to activate, sets DEVICE_NEEDS_RESET and raises a configuration interrupt.
 *
 * <p>Interrupt: the line is held high while InterruptStatus is non-zero (bit 0 used buffers, bit 1
 * configuration change) and dropped when an ACK clears it; if bits remain after an ACK the line
 * goes low and high again, so an edge-triggered controller sees the remaining work too.
 *
 * <p>Threading: every access holds the device's monitor, the lock a device also takes for work it
 * does from other threads (see {@link VirtioDevice}).
 */
public final class VirtioMmioTransport implements BusDevice {

    /** Bytes of MMIO space per device. */
    public static final long REGION_SIZE = 0x200;
    public static final int MAGIC_VALUE = 0x7472_6976;
    public static final int VERSION = 2;
    /** "AETH" in ASCII, read as a big-endian number. */
    public static final int VENDOR_ID = 0x4145_5448;
    public static final int INTERRUPT_USED_BUFFER = 1;
    public static final int INTERRUPT_CONFIG_CHANGE = 2;

    static final int MAGIC = 0x000;
    static final int VERSION_REG = 0x004;
    static final int DEVICE_ID = 0x008;
    static final int VENDOR = 0x00c;
    static final int DEVICE_FEATURES = 0x010;
    static final int DEVICE_FEATURES_SEL = 0x014;
    static final int DRIVER_FEATURES = 0x020;
    static final int DRIVER_FEATURES_SEL = 0x024;
    static final int QUEUE_SEL = 0x030;
    static final int QUEUE_NUM_MAX = 0x034;
    static final int QUEUE_NUM = 0x038;
    static final int QUEUE_READY = 0x044;
    /** The QueueNotify register's offset: a monitor may have KVM catch writes to it (ioeventfd). */
    public static final int QUEUE_NOTIFY = 0x050;
    static final int INTERRUPT_STATUS = 0x060;
    static final int INTERRUPT_ACK = 0x064;
    static final int STATUS = 0x070;
    static final int QUEUE_DESC_LOW = 0x080;
    static final int QUEUE_DESC_HIGH = 0x084;
    static final int QUEUE_DRIVER_LOW = 0x090;
    static final int QUEUE_DRIVER_HIGH = 0x094;
    static final int QUEUE_DEVICE_LOW = 0x0a0;
    static final int QUEUE_DEVICE_HIGH = 0x0a4;
    static final int SHM_SEL = 0x0ac;
    static final int SHM_LEN_LOW = 0x0b0;
    static final int SHM_LEN_HIGH = 0x0b4;
    static final int SHM_BASE_LOW = 0x0b8;
    static final int SHM_BASE_HIGH = 0x0bc;
    static final int CONFIG_GENERATION = 0x0fc;
    static final int CONFIG = 0x100;

    /**
     * Transport counters.
     *
     * @param ignoredAccesses accesses of a wrong size, offset or moment (reads answered 0)
     * @param rejectedStatus status writes that cleared bits or skipped a step
     * @param rejectedFeatures FEATURES_OK refused (features not offered, or no VERSION_1)
     * @param refusedQueues QueueReady writes refused (bad layout, or before FEATURES_OK)
     * @param notifications queue notifications passed to the device
     * @param interrupts times the interrupt line was raised or re-pulsed
     * @param deviceErrors unexpected exceptions from the device model (each sets DEVICE_NEEDS_RESET)
     * @param resets device resets by the driver
     */
    public record Counters(long ignoredAccesses, long rejectedStatus, long rejectedFeatures, long refusedQueues,
                           long notifications, long interrupts, long deviceErrors, long resets) {
    }

    private final VirtioDevice device;
    private final GuestMemory memory;
    private final InterruptLine irq;
    private final List<Virtqueue> queues;
    private final long offeredFeatures;

    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;
    private int status;
    private int interruptStatus;
    private int configGeneration;
    private boolean lineHigh;
    private boolean activated;
    private ActiveInterrupt interrupt;

    private long ignoredAccesses;
    private long rejectedStatus;
    private long rejectedFeatures;
    private long refusedQueues;
    private long notifications;
    private long interrupts;
    private long deviceErrors;
    private long resets;

    /**
     * @param device the device model behind the registers
     * @param memory the guest's memory, for the device's queues
     * @param irq the interrupt line the monitor assigned to this device
     */
    public VirtioMmioTransport(VirtioDevice device, GuestMemory memory, InterruptLine irq) {
        this.device = device;
        this.memory = memory;
        this.irq = irq;
        int n = device.queueCount();
        List<Virtqueue> qs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) qs.add(new Virtqueue(device.queueMaxSize(i)));
        this.queues = List.copyOf(qs);
        this.offeredFeatures = device.deviceFeatures() | VirtioFeatures.TRANSPORT;
    }

    public VirtioDevice device() {
        return device;
    }

    /** The device status byte as the driver reads it. */
    public int status() {
        synchronized (device) {
            return status;
        }
    }

    /** How many virtqueues the device has: the values a QueueNotify write may carry. */
    public int queueCount() {
        return queues.size();
    }

    /**
     * A QueueNotify for {@code queueIndex} that reached the monitor without a register write
     * (KVM signalled an ioeventfd for it): handled exactly as the write would have been.
     */
    public void queueNotified(int queueIndex) {
        synchronized (device) {
            notifyQueue(queueIndex);
        }
    }

    /** The pending interrupt bits. */
    public int interruptStatus() {
        synchronized (device) {
            return interruptStatus;
        }
    }

    public Counters counters() {
        synchronized (device) {
            return new Counters(ignoredAccesses, rejectedStatus, rejectedFeatures, refusedQueues, notifications,
                    interrupts, deviceErrors, resets);
        }
    }

    /** Counters of each queue, by index. */
    public List<QueueCounters> queueCounters() {
        synchronized (device) {
            return queues.stream().map(Virtqueue::counters).toList();
        }
    }

    /** The most queues a saved transport may have: more than any device here offers. */
    static final int MAX_SAVED_QUEUES = 1024;

    private static final int KNOWN_STATUS = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK
            | DeviceStatus.DRIVER_OK | DeviceStatus.DEVICE_NEEDS_RESET | DeviceStatus.FAILED;

    /**
     * The transport's state: the register file as the driver left it and each queue's state.
     *
     * @param deviceType the device behind it; a restore checks it against the device's
     * @param offeredFeatures the features offered (the device's and the transport's); checked likewise
     * @param activated whether DRIVER_OK started the device (it stays unset if the device refused to start)
     * @param queues each queue's state, by index
     */
    public record State(int deviceType, long offeredFeatures, int deviceFeaturesSel, int driverFeaturesSel,
                        long driverFeatures, int queueSel, int status, int interruptStatus, int configGeneration,
                        boolean activated, List<Virtqueue.State> queues) {

        public State {
            if ((status & ~KNOWN_STATUS) != 0) {
                throw new IllegalArgumentException("status: 0x" + Integer.toHexString(status) + " has unknown bits");
            }
            int used = INTERRUPT_USED_BUFFER | INTERRUPT_CONFIG_CHANGE;
            if ((interruptStatus & ~used) != 0) {
                throw new IllegalArgumentException("interruptStatus: 0x" + Integer.toHexString(interruptStatus) + " has unknown bits");
            }
            if (queues.size() > MAX_SAVED_QUEUES) {
                throw new IllegalArgumentException("queues: " + queues.size() + " is more than " + MAX_SAVED_QUEUES);
            }
            queues = List.copyOf(queues);
        }

        /** Writes the fields in the order {@link #read} takes them. */
        public void write(StateWriter out) {
            out.i32(deviceType).i64(offeredFeatures).i32(deviceFeaturesSel).i32(driverFeaturesSel).i64(driverFeatures)
                    .i32(queueSel).i32(status).i32(interruptStatus).i32(configGeneration).bool(activated).u16(queues.size());
            queues.forEach(q -> q.write(out));
        }

        public static State read(StateReader in) throws SnapshotException {
            int deviceType = in.i32("deviceType");
            long offered = in.i64("offeredFeatures");
            int deviceSel = in.i32("deviceFeaturesSel");
            int driverSel = in.i32("driverFeaturesSel");
            long driverFeatures = in.i64("driverFeatures");
            int queueSel = in.i32("queueSel");
            int status = in.i32("status");
            int interruptStatus = in.i32("interruptStatus");
            int generation = in.i32("configGeneration");
            boolean activated = in.bool("activated");
            int count = in.u16("queues");
            if (count > MAX_SAVED_QUEUES) throw in.fail("queues", count + " is more than " + MAX_SAVED_QUEUES);
            List<Virtqueue.State> queues = new ArrayList<>(count);
            for (int i = 0; i < count; i++) queues.add(Virtqueue.State.read(in));
            return in.build(() -> new State(deviceType, offered, deviceSel, driverSel, driverFeatures, queueSel, status, interruptStatus,
                    generation, activated, queues));
        }
    }

    /** The transport's state and its queues', taken under the device's lock. */
    public State state() {
        synchronized (device) {
            return new State(device.deviceType(), offeredFeatures, deviceFeaturesSel, driverFeaturesSel, driverFeatures,
                    queueSel, status, interruptStatus, configGeneration, activated,
                    queues.stream().map(Virtqueue::state).toList());
        }
    }

    /**
     * Puts a transport that the driver has not touched since it was made into {@code state}: the
     * registers, the queues, and, if the device was started, the device started again over the
     * restored queues (its own state is restored after this). Checked first as the live path
     * checks it: the same device type and features, status bits in the order a driver sets them,
     * accepted features offered and with VERSION_1 once FEATURES_OK is set, ready queues only after
     * FEATURES_OK and each one's layout inside guest memory. A refused state changes nothing.
     *
     * @throws IllegalArgumentException naming the field, if the state is refused
     * @throws IllegalStateException if the transport is in use
     */
    public void restore(State state) {
        synchronized (device) {
            if (status != 0 || activated) throw new IllegalStateException("restore needs a transport the driver has not used");
            checkRestore(state);
            List<Virtqueue.State> untouched = queues.stream().map(Virtqueue::state).toList();
            for (int i = 0; i < queues.size(); i++) queues.get(i).restore(state.queues().get(i), memory);
            if (state.activated()) {
                ActiveInterrupt restored = new ActiveInterrupt();
                try {
                    device.activate(memory, state.driverFeatures(), queues, restored);
                } catch (RuntimeException e) {
                    restored.live = false;
                    for (int i = 0; i < queues.size(); i++) queues.get(i).restore(untouched.get(i), memory);
                    throw new IllegalArgumentException("activated: the device refused to start: " + e.getMessage(), e);
                }
                interrupt = restored;
                activated = true;
            }
            deviceFeaturesSel = state.deviceFeaturesSel();
            driverFeaturesSel = state.driverFeaturesSel();
            driverFeatures = state.driverFeatures();
            queueSel = state.queueSel();
            status = state.status();
            configGeneration = state.configGeneration();
            interruptStatus = state.interruptStatus();
            setLine(interruptStatus != 0);
        }
    }

    private void checkRestore(State state) {
        if (state.deviceType() != device.deviceType()) {
            throw new IllegalArgumentException("deviceType: " + state.deviceType() + " differs from this device's " + device.deviceType());
        }
        if (state.offeredFeatures() != offeredFeatures) {
            throw new IllegalArgumentException("offeredFeatures: 0x" + Long.toHexString(state.offeredFeatures())
                    + " differ from this device's 0x" + Long.toHexString(offeredFeatures));
        }
        int s = state.status();
        requireStep(s, DeviceStatus.DRIVER, DeviceStatus.ACKNOWLEDGE, "DRIVER without ACKNOWLEDGE");
        requireStep(s, DeviceStatus.FEATURES_OK, DeviceStatus.DRIVER, "FEATURES_OK without DRIVER");
        requireStep(s, DeviceStatus.DRIVER_OK, DeviceStatus.FEATURES_OK, "DRIVER_OK without FEATURES_OK");
        boolean featuresOk = (s & DeviceStatus.FEATURES_OK) != 0;
        if (featuresOk && ((state.driverFeatures() & ~offeredFeatures) != 0
                || !VirtioFeatures.has(state.driverFeatures(), VirtioFeatures.VERSION_1))) {
            throw new IllegalArgumentException("driverFeatures: 0x" + Long.toHexString(state.driverFeatures())
                    + " were not offered or lack VERSION_1, yet FEATURES_OK is set");
        }
        if (state.activated() && (s & DeviceStatus.DRIVER_OK) == 0) {
            throw new IllegalArgumentException("activated: the device was started without DRIVER_OK");
        }
        if (state.queues().size() != queues.size()) {
            throw new IllegalArgumentException("queues: " + state.queues().size() + " differs from this device's " + queues.size());
        }
        boolean indirect = VirtioFeatures.has(state.driverFeatures(), VirtioFeatures.RING_INDIRECT_DESC);
        boolean eventIdx = VirtioFeatures.has(state.driverFeatures(), VirtioFeatures.RING_EVENT_IDX);
        for (int i = 0; i < queues.size(); i++) {
            Virtqueue.State q = state.queues().get(i);
            try {
                queues.get(i).checkRestore(q, memory);
                if (q.ready() && !featuresOk) throw new IllegalArgumentException("ready: set before FEATURES_OK");
                if (q.ready() && (q.indirect() != indirect || q.eventIdx() != eventIdx)) {
                    throw new IllegalArgumentException("indirect/eventIdx: differ from the accepted features");
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("queue " + i + ": " + e.getMessage(), e);
            }
        }
    }

    private static void requireStep(int status, int bit, int required, String problem) {
        if ((status & bit) != 0 && (status & required) == 0) {
            throw new IllegalArgumentException("status: 0x" + Integer.toHexString(status) + " sets " + problem);
        }
    }

    @Override
    public void read(long offset, byte[] data) {
        synchronized (device) {
            if (offset >= CONFIG && offset < REGION_SIZE) {
                readConfig((int) (offset - CONFIG), data);
                return;
            }
            if (data.length != 4 || offset < 0 || offset >= CONFIG || (offset & 3) != 0) {
                ignore(data);
                return;
            }
            int value = switch ((int) offset) {
                case MAGIC -> MAGIC_VALUE;
                case VERSION_REG -> VERSION;
                case DEVICE_ID -> device.deviceType();
                case VENDOR -> VENDOR_ID;
                case DEVICE_FEATURES -> switch (deviceFeaturesSel) {
                    case 0 -> (int) offeredFeatures;
                    case 1 -> (int) (offeredFeatures >>> 32);
                    default -> 0;
                };
                case QUEUE_NUM_MAX -> selectedQueue() == null ? 0 : selectedQueue().maxSize();
                case QUEUE_READY -> selectedQueue() != null && selectedQueue().ready() ? 1 : 0;
                case INTERRUPT_STATUS -> interruptStatus;
                case STATUS -> status;
                // No shared memory regions: a length of -1 says so (4.2.2).
                case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> -1;
                case CONFIG_GENERATION -> configGeneration;
                default -> {
                    ignoredAccesses++;
                    yield 0;
                }
            };
            putInt(data, value);
        }
    }

    @Override
    public void write(long offset, byte[] data) {
        synchronized (device) {
            if (offset >= CONFIG && offset < REGION_SIZE) {
                writeConfig((int) (offset - CONFIG), data);
                return;
            }
            if (data.length != 4 || offset < 0 || offset >= CONFIG || (offset & 3) != 0) {
                ignoredAccesses++;
                return;
            }
            int value = getInt(data);
            switch ((int) offset) {
                case DEVICE_FEATURES_SEL -> deviceFeaturesSel = value;
                case DRIVER_FEATURES -> writeDriverFeatures(value);
                case DRIVER_FEATURES_SEL -> driverFeaturesSel = value;
                case QUEUE_SEL -> queueSel = value;
                case QUEUE_NUM -> configureQueue(q -> q.setSize(value));
                case QUEUE_READY -> writeQueueReady(value);
                case QUEUE_NOTIFY -> notifyQueue(value);
                case INTERRUPT_ACK -> acknowledge(value);
                case STATUS -> writeStatus(value);
                case QUEUE_DESC_LOW -> configureQueue(q -> q.setDescTable(low(q.descTable(), value)));
                case QUEUE_DESC_HIGH -> configureQueue(q -> q.setDescTable(high(q.descTable(), value)));
                case QUEUE_DRIVER_LOW -> configureQueue(q -> q.setAvailRing(low(q.availRing(), value)));
                case QUEUE_DRIVER_HIGH -> configureQueue(q -> q.setAvailRing(high(q.availRing(), value)));
                case QUEUE_DEVICE_LOW -> configureQueue(q -> q.setUsedRing(low(q.usedRing(), value)));
                case QUEUE_DEVICE_HIGH -> configureQueue(q -> q.setUsedRing(high(q.usedRing(), value)));
                case SHM_SEL -> { } // selects among no regions: every length reads -1
                default -> ignoredAccesses++;
            }
        }
    }

    private void readConfig(int offset, byte[] data) {
        if (!configRange(offset, data.length)) {
            ignore(data);
            return;
        }
        try {
            device.readConfig(offset, data);
        } catch (RuntimeException e) {
            Arrays.fill(data, (byte) 0);
            deviceFailed();
        }
    }

    private void writeConfig(int offset, byte[] data) {
        if (!configRange(offset, data.length)) {
            ignoredAccesses++;
            return;
        }
        try {
            device.writeConfig(offset, data.clone());
        } catch (RuntimeException e) {
            deviceFailed();
        }
    }

    private boolean configRange(int offset, int length) {
        boolean sizeOk = length == 1 || length == 2 || length == 4 || length == 8;
        return sizeOk && offset + length <= device.configSize();
    }

    private void writeDriverFeatures(int value) {
        // 3.1.1: features are written after DRIVER and before FEATURES_OK.
        if ((status & DeviceStatus.DRIVER) == 0 || (status & DeviceStatus.FEATURES_OK) != 0) {
            ignoredAccesses++;
            return;
        }
        switch (driverFeaturesSel) {
            case 0 -> driverFeatures = low(driverFeatures, value);
            case 1 -> driverFeatures = high(driverFeatures, value);
            default -> ignoredAccesses++;
        }
    }

    private Virtqueue selectedQueue() {
        return queueSel >= 0 && queueSel < queues.size() ? queues.get(queueSel) : null;
    }

    private void configureQueue(Predicate<Virtqueue> change) {
        Virtqueue q = selectedQueue();
        if (q == null || !change.test(q)) ignoredAccesses++;
    }

    private void writeQueueReady(int value) {
        Virtqueue q = selectedQueue();
        if (q == null) {
            ignoredAccesses++;
        } else if (value == 1) {
            // Ring features are only known once FEATURES_OK is set.
            if ((status & DeviceStatus.FEATURES_OK) == 0 || !q.enable(memory, driverFeatures)) refusedQueues++;
        } else if (value == 0 && !activated) {
            q.disable();
        } else {
            ignoredAccesses++;
        }
    }

    private void notifyQueue(int value) {
        // Without VIRTIO_F_NOTIFICATION_DATA the value is the queue index.
        if (!activated || value < 0 || value >= queues.size()) {
            ignoredAccesses++;
            return;
        }
        notifications++;
        try {
            device.queueNotify(value);
        } catch (RuntimeException e) {
            deviceFailed();
        }
        checkBrokenQueues();
    }

    private void acknowledge(int value) {
        interruptStatus &= ~value;
        if (interruptStatus == 0) {
            setLine(false);
        } else {
            // Work is still pending: a fresh edge for edge-triggered controllers.
            irq.set(false);
            irq.set(true);
            lineHigh = true;
            interrupts++;
        }
    }

    private void raise(int bit) {
        interruptStatus |= bit;
        if (!lineHigh) {
            setLine(true);
            interrupts++;
        }
    }

    private void setLine(boolean high) {
        if (lineHigh != high) {
            lineHigh = high;
            irq.set(high);
        }
    }

    private void writeStatus(int value) {
        int requested = value & 0xFF & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if (requested == 0) {
            reset();
            return;
        }
        int current = status & ~DeviceStatus.DEVICE_NEEDS_RESET;
        if ((current & ~requested) != 0) {
            rejectedStatus++;
            return;
        }
        int added = requested & ~current;
        if ((added & DeviceStatus.FAILED) != 0) status |= DeviceStatus.FAILED;
        if ((added & DeviceStatus.ACKNOWLEDGE) != 0) status |= DeviceStatus.ACKNOWLEDGE;
        if ((added & DeviceStatus.DRIVER) != 0) {
            if (!step(DeviceStatus.ACKNOWLEDGE)) return;
            status |= DeviceStatus.DRIVER;
        }
        if ((added & DeviceStatus.FEATURES_OK) != 0) {
            if (!step(DeviceStatus.DRIVER)) return;
            boolean offered = (driverFeatures & ~offeredFeatures) == 0;
            if (!offered || !VirtioFeatures.has(driverFeatures, VirtioFeatures.VERSION_1)) {
                // 3.1.1: the driver re-reads the status, sees no FEATURES_OK and gives up.
                rejectedFeatures++;
                return;
            }
            status |= DeviceStatus.FEATURES_OK;
        }
        if ((added & DeviceStatus.DRIVER_OK) != 0) {
            if (!step(DeviceStatus.FEATURES_OK)) return;
            status |= DeviceStatus.DRIVER_OK;
            activate();
        }
    }

    /** Whether the status already has {@code required}; counts a skipped step. */
    private boolean step(int required) {
        if ((status & required) != 0) return true;
        rejectedStatus++;
        return false;
    }

    private void activate() {
        interrupt = new ActiveInterrupt();
        try {
            device.activate(memory, driverFeatures, queues, interrupt);
            activated = true;
        } catch (RuntimeException e) {
            interrupt.live = false;
            deviceFailed();
        }
    }

    private void reset() {
        resets++;
        if (interrupt != null) interrupt.live = false;
        interrupt = null;
        activated = false;
        try {
            device.reset();
        } catch (RuntimeException e) {
            deviceErrors++;
        }
        queues.forEach(Virtqueue::reset);
        status = 0;
        deviceFeaturesSel = 0;
        driverFeaturesSel = 0;
        driverFeatures = 0;
        queueSel = 0;
        interruptStatus = 0;
        setLine(false);
    }

    private void deviceFailed() {
        deviceErrors++;
        needsReset();
    }

    private void needsReset() {
        if ((status & DeviceStatus.DEVICE_NEEDS_RESET) != 0) return;
        status |= DeviceStatus.DEVICE_NEEDS_RESET;
        raise(INTERRUPT_CONFIG_CHANGE);
    }

    private void checkBrokenQueues() {
        for (Virtqueue q : queues) {
            if (q.broken()) {
                needsReset();
                return;
            }
        }
    }

    private void ignore(byte[] data) {
        Arrays.fill(data, (byte) 0);
        ignoredAccesses++;
    }

    private static long low(long current, int value) {
        return (current & 0xFFFF_FFFF_0000_0000L) | Integer.toUnsignedLong(value);
    }

    private static long high(long current, int value) {
        return (current & 0xFFFF_FFFFL) | ((long) value << 32);
    }

    private static int getInt(byte[] b) {
        return (b[0] & 0xFF) | (b[1] & 0xFF) << 8 | (b[2] & 0xFF) << 16 | (b[3] & 0xFF) << 24;
    }

    private static void putInt(byte[] b, int v) {
        b[0] = (byte) v;
        b[1] = (byte) (v >>> 8);
        b[2] = (byte) (v >>> 16);
        b[3] = (byte) (v >>> 24);
    }

    /** The device's handle on this transport for one activation; dead after a reset. */
    private final class ActiveInterrupt implements VirtioInterrupt {
        private boolean live = true;

        @Override
        public void usedBuffers(int queueIndex) {
            synchronized (device) {
                if (!live || queueIndex < 0 || queueIndex >= queues.size()) return;
                if (queues.get(queueIndex).needsInterrupt()) raise(INTERRUPT_USED_BUFFER);
                checkBrokenQueues();
            }
        }

        @Override
        public void configChanged() {
            synchronized (device) {
                if (!live) return;
                configGeneration++;
                raise(INTERRUPT_CONFIG_CHANGE);
            }
        }
    }
}
