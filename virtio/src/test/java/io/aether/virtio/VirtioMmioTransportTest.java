package io.aether.virtio;

import static io.aether.virtio.MmioDriver.CONFIG_GENERATION;
import static io.aether.virtio.MmioDriver.DEVICE_FEATURES;
import static io.aether.virtio.MmioDriver.DEVICE_FEATURES_SEL;
import static io.aether.virtio.MmioDriver.DRIVER_FEATURES;
import static io.aether.virtio.MmioDriver.DRIVER_FEATURES_SEL;
import static io.aether.virtio.MmioDriver.INTERRUPT_ACK;
import static io.aether.virtio.MmioDriver.INTERRUPT_STATUS;
import static io.aether.virtio.MmioDriver.QUEUE_DESC_LOW;
import static io.aether.virtio.MmioDriver.QUEUE_NUM;
import static io.aether.virtio.MmioDriver.QUEUE_NUM_MAX;
import static io.aether.virtio.MmioDriver.QUEUE_READY;
import static io.aether.virtio.MmioDriver.QUEUE_SEL;
import static io.aether.virtio.MmioDriver.STATUS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver.Used;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioMmioTransportTest {

    private static final int OK = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK;
    private static final long FEATURES = VirtioFeatures.TRANSPORT | LoopbackDevice.FEATURE_A;

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    private final List<Boolean> line = new ArrayList<>();
    private final LoopbackDevice device = new LoopbackDevice();
    private final VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, line::add);
    private final MmioDriver driver = new MmioDriver(transport);
    private final MockDriver q0 = new MockDriver(memory, 16, 0x1000, 0x8000);
    private final MockDriver q1 = new MockDriver(memory, 8, q0.end(), 0x8000);

    @AfterEach
    void close() {
        memory.close();
    }

    private boolean lineHigh() {
        return !line.isEmpty() && line.getLast();
    }

    @Test
    void identifiesTheDevice() {
        assertEquals(0x74726976, driver.read(MmioDriver.MAGIC));
        assertEquals(2, driver.read(MmioDriver.VERSION));
        assertEquals(42, driver.read(MmioDriver.DEVICE_ID));
        assertEquals(VirtioMmioTransport.VENDOR_ID, driver.read(0x00c));
        assertEquals(LoopbackDevice.FEATURE_A | LoopbackDevice.FEATURE_B | VirtioFeatures.TRANSPORT, driver.deviceFeatures());
        driver.write(DEVICE_FEATURES_SEL, 2);
        assertEquals(0, driver.read(DEVICE_FEATURES));
        driver.write(QUEUE_SEL, 1);
        assertEquals(16, driver.read(QUEUE_NUM_MAX));
        driver.write(QUEUE_SEL, 2);
        assertEquals(0, driver.read(QUEUE_NUM_MAX), "no queue 2");
        assertEquals(-1, driver.read(0x0b0), "no shared memory");
    }

    @Test
    void theDriverSequenceActivatesTheDeviceAndInterruptsWork() {
        assertEquals(OK, driver.start(FEATURES, q0, q1));
        assertEquals(1, device.activations);
        assertEquals(FEATURES, device.features);

        int head = q1.add(q1.readable("ping".getBytes(StandardCharsets.US_ASCII)), q1.writable(8));
        driver.notifyQueue(1);
        assertEquals(List.of(new Used(head, 4)), q1.takeUsed());
        assertTrue(lineHigh());
        assertEquals(VirtioMmioTransport.INTERRUPT_USED_BUFFER, driver.read(INTERRUPT_STATUS));
        assertEquals(1, driver.acknowledgeInterrupt());
        assertFalse(lineHigh());
        assertEquals(List.of(true, false), line);
        assertEquals(0, transport.counters().ignoredAccesses());
        assertEquals(1, transport.counters().notifications());
        assertEquals(1, transport.queueCounters().get(1).chains());
    }

    @Test
    void featuresOkIsRefusedForUnofferedFeaturesOrWithoutVersion1() {
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER, driver.start(FEATURES | (1L << 40), q0));
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER, driver.start(LoopbackDevice.FEATURE_A, q0));
        assertEquals(2, transport.counters().rejectedFeatures());
        assertEquals(0, device.activations);
        assertEquals(OK, driver.start(FEATURES, q0));
    }

    @Test
    void statusStepsCannotBeSkippedOrUndone() {
        driver.write(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER_OK);
        assertEquals(DeviceStatus.ACKNOWLEDGE, driver.read(STATUS));
        driver.write(STATUS, DeviceStatus.DRIVER);
        assertEquals(DeviceStatus.ACKNOWLEDGE, driver.read(STATUS), "clearing ACKNOWLEDGE is refused");
        driver.write(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.FEATURES_OK);
        assertEquals(DeviceStatus.ACKNOWLEDGE, driver.read(STATUS));
        assertEquals(3, transport.counters().rejectedStatus());
        assertEquals(0, device.activations);
    }

    @Test
    void driverFeaturesAreOnlyTakenBetweenDriverAndFeaturesOk() {
        driver.write(DRIVER_FEATURES, 1);
        assertEquals(1, transport.counters().ignoredAccesses());
        driver.write(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.write(DRIVER_FEATURES_SEL, 5);
        driver.write(DRIVER_FEATURES, 1);
        assertEquals(2, transport.counters().ignoredAccesses());
    }

    @Test
    void registerAccessesOfOtherSizesAreIgnored() {
        byte[] two = {(byte) 0xFF, (byte) 0xFF};
        transport.read(0, two);
        assertArrayEquals(new byte[2], two);
        transport.write(STATUS, new byte[] {1});
        byte[] eight = new byte[8];
        transport.read(0, eight);
        transport.read(2, new byte[4]);
        transport.read(0x1000, new byte[4]);
        transport.read(-4, new byte[4]);
        transport.write(0x0f0, new byte[4]);
        assertEquals(0, driver.read(STATUS));
        assertEquals(7, transport.counters().ignoredAccesses());
    }

    @Test
    void configSpaceTakesAnySizeInsideIt() {
        assertArrayEquals(new byte[] {0x11, 0x12}, driver.readConfig(1, 2));
        assertArrayEquals(new byte[] {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17}, driver.readConfig(0, 8));
        assertArrayEquals(new byte[4], driver.readConfig(6, 4));
        assertArrayEquals(new byte[3], driver.readConfig(0, 3));
        assertEquals(2, transport.counters().ignoredAccesses());
        assertEquals(0, driver.read(CONFIG_GENERATION));
    }

    @Test
    void aQueueWithABadLayoutIsNotMadeReady() {
        driver.write(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        driver.write(DRIVER_FEATURES_SEL, 1);
        driver.write(DRIVER_FEATURES, 1);
        driver.write(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        driver.write(QUEUE_SEL, 0);
        driver.write(QUEUE_NUM, 12);
        driver.write(QUEUE_READY, 1);
        assertEquals(0, driver.read(QUEUE_READY));
        driver.write(QUEUE_NUM, 16);
        driver.write(QUEUE_DESC_LOW, 0x1004);
        driver.write(QUEUE_READY, 1);
        assertEquals(0, driver.read(QUEUE_READY));
        assertEquals(2, transport.counters().refusedQueues());
        assertTrue(driver.setUpQueue(0, q0));
        driver.write(QUEUE_NUM, 4);
        assertEquals(1, transport.counters().ignoredAccesses(), "a ready queue's size is frozen");
        assertEquals(2, transport.queueCounters().getFirst().faults(QueueFault.BAD_LAYOUT));
    }

    @Test
    void queueReadyBeforeFeaturesOkIsRefused() {
        driver.write(QUEUE_SEL, 0);
        driver.write(QUEUE_READY, 1);
        assertEquals(0, driver.read(QUEUE_READY));
        assertEquals(1, transport.counters().refusedQueues());
    }

    @Test
    void notificationsBeforeDriverOkOrForMissingQueuesAreIgnored() {
        driver.notifyQueue(0);
        driver.start(FEATURES, q0, q1);
        driver.notifyQueue(2);
        driver.notifyQueue(-1);
        assertEquals(3, transport.counters().ignoredAccesses());
        assertEquals(0, transport.counters().notifications());
    }

    @Test
    void resetClearsEverythingAndTheDeviceCanStartAgain() {
        driver.start(FEATURES, q0, q1);
        q0.add(q0.readable(new byte[] {1}), q0.writable(1));
        driver.notifyQueue(0);
        assertTrue(lineHigh());
        VirtioInterrupt stale = device.interrupt;

        driver.write(STATUS, 0);
        assertEquals(0, driver.read(STATUS));
        assertEquals(0, driver.read(INTERRUPT_STATUS));
        assertFalse(lineHigh());
        assertEquals(2, device.resets, "one when the driver started, one now");
        driver.write(QUEUE_SEL, 0);
        assertEquals(0, driver.read(QUEUE_READY));
        stale.configChanged();
        assertEquals(0, driver.read(INTERRUPT_STATUS), "an old activation's handle is dead");

        MockDriver fresh = new MockDriver(memory, 16, 0x1000, 0x8000);
        MockDriver fresh1 = new MockDriver(memory, 8, fresh.end(), 0x8000);
        assertEquals(OK, driver.start(FEATURES, fresh, fresh1));
        int head = fresh.add(fresh.readable(new byte[] {9}), fresh.writable(1));
        driver.notifyQueue(0);
        assertEquals(List.of(new Used(head, 1)), fresh.takeUsed());
    }

    @Test
    void aStoppedQueueSetsNeedsResetWithAConfigInterrupt() {
        driver.start(FEATURES, q0, q1);
        q0.setAvailIdx(100);
        driver.notifyQueue(0);
        assertEquals(OK | DeviceStatus.DEVICE_NEEDS_RESET, driver.read(STATUS));
        assertEquals(VirtioMmioTransport.INTERRUPT_CONFIG_CHANGE, driver.read(INTERRUPT_STATUS));
        assertTrue(lineHigh());
        // A driver writing back the status it read keeps NEEDS_RESET and changes nothing.
        driver.write(STATUS, driver.read(STATUS));
        assertEquals(OK | DeviceStatus.DEVICE_NEEDS_RESET, driver.read(STATUS));
        driver.write(STATUS, 0);
        assertEquals(0, driver.read(STATUS));
    }

    @Test
    void aDeviceFailingToActivateNeedsReset() {
        device.failActivation = true;
        int status = driver.start(FEATURES, q0);
        assertEquals(OK | DeviceStatus.DEVICE_NEEDS_RESET, status);
        assertEquals(1, transport.counters().deviceErrors());
        driver.notifyQueue(0);
        assertEquals(1, transport.counters().ignoredAccesses(), "not activated: notify ignored");
    }

    @Test
    void anAckLeavingBitsPendingPulsesTheLine() {
        driver.start(FEATURES, q0, q1);
        q0.add(q0.readable(new byte[] {1}), q0.writable(1));
        driver.notifyQueue(0);
        device.interrupt.configChanged();
        assertEquals(3, driver.read(INTERRUPT_STATUS));
        assertEquals(1, driver.read(CONFIG_GENERATION));
        line.clear();
        driver.write(INTERRUPT_ACK, 1);
        assertEquals(List.of(false, true), line, "low then high again for the remaining bit");
        driver.write(INTERRUPT_ACK, 2);
        assertEquals(List.of(false, true, false), line);
        assertEquals(0, driver.read(INTERRUPT_STATUS));
    }

    @Test
    void suppressedInterruptsDoNotRaiseTheLine() {
        driver.start(VirtioFeatures.VERSION_1, q0, q1);
        q0.setAvailFlags(1);
        q0.add(q0.readable(new byte[] {1}), q0.writable(1));
        driver.notifyQueue(0);
        assertEquals(1, q0.takeUsed().size());
        assertTrue(line.isEmpty());
        assertEquals(0, driver.read(INTERRUPT_STATUS));
    }

    @Test
    void completionsFromAnotherThreadAndRegisterAccessesDoNotRace() throws Exception {
        driver.start(FEATURES, q0, q1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread backend = Thread.ofPlatform().start(() -> {
            try {
                for (int i = 0; i < 2000; i++) {
                    synchronized (device) {
                        device.interrupt.configChanged();
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        for (int i = 0; i < 2000; i++) driver.acknowledgeInterrupt();
        backend.join();
        driver.acknowledgeInterrupt();
        assertNull(failure.get());
        assertEquals(2000, driver.read(CONFIG_GENERATION));
        assertEquals(0, driver.read(INTERRUPT_STATUS));
        assertFalse(lineHigh());
        assertNotEquals(0, transport.counters().interrupts());
    }
}
