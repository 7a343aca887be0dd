package io.aether.virtio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateWriter;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import io.aether.virtio.MockDriver.Used;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioMmioTransportStateTest {

    private static final int MEMORY = 1 << 20;
    private static final long OFFERED = VirtioFeatures.TRANSPORT | LoopbackDevice.FEATURE_A | LoopbackDevice.FEATURE_B;
    private static final int OK = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK;

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)));

    @AfterEach
    void close() {
        memory.close();
    }

    private VirtioMmioTransport fresh(List<Boolean> line) {
        return new VirtioMmioTransport(new LoopbackDevice(), memory, line::add);
    }

    private static VirtioMmioTransport.State throughFile(VirtioMmioTransport.State state) throws SnapshotException {
        StateWriter out = new StateWriter();
        state.write(out);
        Section section = StateFile.decode(StateFile.encode(List.of(out.toSection("virtio0")))).getFirst();
        var reader = section.reader();
        var back = VirtioMmioTransport.State.read(reader);
        reader.end();
        return back;
    }

    /** Queue states that the live path could reach: a ready queue has a layout QueueReady accepts. */
    private static Gen<Virtqueue.State> queue(boolean featuresOk, long features) {
        Gen<Integer> sizes = Gen.choose(1, 2, 4, 8, 16);
        Gen<List<Integer>> indices = Gen.lists(Gen.ints(0, 0xFFFF), 3, 3);
        return Gen.booleans().flatMap(ready -> sizes.flatMap(size -> indices.flatMap(ix -> Gen.longs(0, MEMORY / 16 - 64)
                .flatMap(slot -> Gen.booleans().map(flag -> {
                    boolean live = ready && featuresOk;
                    long desc = slot * 16;
                    long availRing = live ? desc + 16L * size : slot * 3;
                    long usedRing = live ? (availRing + 6 + 2L * size + 3) & -4 : slot * 5;
                    return new Virtqueue.State(16, live ? size : ix.get(0), live, desc, availRing, usedRing,
                            live ? VirtioFeatures.has(features, VirtioFeatures.RING_INDIRECT_DESC) : flag,
                            live ? VirtioFeatures.has(features, VirtioFeatures.RING_EVENT_IDX) : !flag,
                            ix.get(0), ix.get(1), ix.get(2), flag, live && flag && ix.get(1) % 7 == 0);
                })))));
    }

    private static final Gen<VirtioMmioTransport.State> STATES = Gen.choose(0, 1, 3, 11, 15, 15 | 64, 15 | 128, 3 | 128)
            .flatMap(status -> Gen.longs().flatMap(bits -> {
                boolean featuresOk = (status & DeviceStatus.FEATURES_OK) != 0;
                long features = featuresOk ? (bits & OFFERED) | VirtioFeatures.VERSION_1 : bits;
                return queue(featuresOk, features).flatMap(q0 -> queue(featuresOk, features).flatMap(q1 ->
                        Gen.ints(0, 3).flatMap(irq -> Gen.ints().flatMap(sel -> Gen.booleans().map(started ->
                                new VirtioMmioTransport.State(42, OFFERED, sel & 1, sel >>> 31, features, sel, status, irq,
                                        sel >>> 8, started && (status & DeviceStatus.DRIVER_OK) != 0, List.of(q0, q1)))))));
            }));

    @Test
    void everyReachableStateSurvivesTheFileAndARestore() {
        Property.forAll(STATES).tries(300).check(state -> {
            assertEquals(state, throughFile(state));
            List<Boolean> line = new ArrayList<>();
            VirtioMmioTransport restored = fresh(line);
            restored.restore(throughFile(state));
            assertEquals(state, restored.state());
            assertEquals(state.interruptStatus() != 0, !line.isEmpty() && line.getLast());
            assertEquals(state.activated() ? 1 : 0, ((LoopbackDevice) restored.device()).activations);
        });
    }

    private VirtioMmioTransport.State running() {
        VirtioMmioTransport t = fresh(new ArrayList<>());
        MockDriver q0 = new MockDriver(memory, 16, 0x1000, 0x1000);
        new MmioDriver(t).start(VirtioFeatures.TRANSPORT | LoopbackDevice.FEATURE_A, q0);
        return t.state();
    }

    private void refused(String message, UnaryOperator<VirtioMmioTransport.State> change) {
        VirtioMmioTransport.State bad = change.apply(running());
        List<Boolean> line = new ArrayList<>();
        VirtioMmioTransport t = fresh(line);
        VirtioMmioTransport.State before = t.state();
        var e = assertThrows(IllegalArgumentException.class, () -> t.restore(bad));
        assertEquals(message, e.getMessage());
        assertEquals(before, t.state(), "a refused restore changes nothing");
        assertTrue(line.isEmpty());
        assertEquals(0, ((LoopbackDevice) t.device()).activations);
    }

    private static VirtioMmioTransport.State with(VirtioMmioTransport.State s, int status, long features, boolean activated,
                                                  List<Virtqueue.State> queues) {
        return new VirtioMmioTransport.State(s.deviceType(), s.offeredFeatures(), s.deviceFeaturesSel(), s.driverFeaturesSel(),
                features, s.queueSel(), status, s.interruptStatus(), s.configGeneration(), activated, queues);
    }

    private static Virtqueue.State queue0(VirtioMmioTransport.State s, UnaryOperator<Virtqueue.State> change) {
        return change.apply(s.queues().getFirst());
    }

    private static Virtqueue.State layout(Virtqueue.State q, int size, long desc, long avail, long used) {
        return new Virtqueue.State(q.maxSize(), size, q.ready(), desc, avail, used, q.indirect(), q.eventIdx(), q.nextAvail(),
                q.nextUsed(), q.signalledUsed(), q.usedSinceSignal(), q.broken());
    }

    private static final int[] WRITABLE = {MmioDriver.DEVICE_FEATURES_SEL, MmioDriver.DRIVER_FEATURES, MmioDriver.DRIVER_FEATURES_SEL,
        MmioDriver.QUEUE_SEL, MmioDriver.QUEUE_NUM, MmioDriver.QUEUE_READY, MmioDriver.QUEUE_NOTIFY, MmioDriver.INTERRUPT_ACK,
        MmioDriver.STATUS, MmioDriver.QUEUE_DESC_LOW, MmioDriver.QUEUE_DRIVER_LOW, MmioDriver.QUEUE_DEVICE_LOW};

    /** Every register a driver can read, for each queue selected. */
    private static List<Integer> registers(MmioDriver driver) {
        List<Integer> seen = new ArrayList<>();
        for (int sel = 0; sel < 3; sel++) {
            driver.write(MmioDriver.QUEUE_SEL, sel);
            for (int offset = 0; offset < 0x100; offset += 4) seen.add(driver.read(offset));
        }
        return seen;
    }

    @Test
    void statesReachedThroughTheRegistersSurviveARestore() {
        Gen<List<Integer>> writes = Gen.lists(Gen.ints(0, WRITABLE.length - 1), 0, 60);
        Gen<List<Integer>> values = Gen.lists(Gen.choose(0, 1, 2, 3, 7, 11, 15, 16, 0x1000, 0x2000, 0x3000, 1 << 29), 60, 60);
        Property.forAll(Gen.booleans(), writes, values).tries(200).check((startFirst, registers, chosen) -> {
            memory.fill(0, MEMORY, (byte) 0);
            VirtioMmioTransport original = fresh(new ArrayList<>());
            MmioDriver driver = new MmioDriver(original);
            if (startFirst) {
                MockDriver q0 = new MockDriver(memory, 16, 0x1000, 0x1000);
                driver.start(VirtioFeatures.TRANSPORT | LoopbackDevice.FEATURE_B, q0);
                q0.add(q0.readable(new byte[] {1, 2}), q0.writable(2));
            }
            for (int i = 0; i < registers.size(); i++) driver.write(WRITABLE[registers.get(i)], chosen.get(i));
            VirtioMmioTransport.State state = original.state();
            List<Boolean> line = new ArrayList<>();
            VirtioMmioTransport restored = fresh(line);
            restored.restore(throughFile(state));
            assertEquals(state, restored.state());
            assertEquals(original.interruptStatus() != 0, !line.isEmpty() && line.getLast());
            assertEquals(registers(driver), registers(new MmioDriver(restored)));
        });
    }

    @Test
    void refusesWhatTheLivePathRefuses() {
        refused("queue 0: size: 12 is not a power of two from 1 to 16", s -> with(s, s.status(), s.driverFeatures(), true,
                List.of(queue0(s, q -> layout(q, 12, q.descTable(), q.availRing(), q.usedRing())), s.queues().get(1))));
        refused("queue 0: size: 32 is not a power of two from 1 to 16", s -> with(s, s.status(), s.driverFeatures(), true,
                List.of(queue0(s, q -> layout(q, 32, q.descTable(), q.availRing(), q.usedRing())), s.queues().get(1))));
        refused("queue 0: descriptor table: 0xffff0 is not 16-aligned inside guest memory", s -> with(s, s.status(),
                s.driverFeatures(), true, List.of(queue0(s, q -> layout(q, 16, MEMORY - 16, q.availRing(), q.usedRing())),
                        s.queues().get(1))));
        refused("queue 0: available ring: 0x1101 is not 2-aligned inside guest memory", s -> with(s, s.status(),
                s.driverFeatures(), true, List.of(queue0(s, q -> layout(q, 16, q.descTable(), 0x1101, q.usedRing())),
                        s.queues().get(1))));
        refused("queue 0: used ring: 0x100000 is not 4-aligned inside writable guest memory", s -> with(s, s.status(),
                s.driverFeatures(), true, List.of(queue0(s, q -> layout(q, 16, q.descTable(), q.availRing(), MEMORY)),
                        s.queues().get(1))));
        refused("queue 0: maxSize: 32 differs from the device's 16", s -> with(s, s.status(), s.driverFeatures(), true,
                List.of(queue0(s, q -> new Virtqueue.State(32, q.size(), q.ready(), q.descTable(), q.availRing(), q.usedRing(),
                        q.indirect(), q.eventIdx(), q.nextAvail(), q.nextUsed(), q.signalledUsed(), false, false)),
                        s.queues().get(1))));
        refused("queue 0: ready: set before FEATURES_OK", s -> with(s, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER,
                s.driverFeatures(), false, s.queues()));
        refused("queue 0: indirect/eventIdx: differ from the accepted features", s -> with(s, s.status(),
                s.driverFeatures() & ~VirtioFeatures.RING_EVENT_IDX, true, s.queues()));
        refused("status: 0xd sets FEATURES_OK without DRIVER",
                s -> with(s, 0xd, s.driverFeatures(), true, s.queues()));
        refused("status: 0x7 sets DRIVER_OK without FEATURES_OK", s -> with(s, 7, s.driverFeatures(), false, List.of(
                queue0(s, q -> new Virtqueue.State(16, 16, false, 0, 0, 0, false, false, 0, 0, 0, false, false)), s.queues().get(1))));
        refused("driverFeatures: 0x10130000001 were not offered or lack VERSION_1, yet FEATURES_OK is set",
                s -> with(s, s.status(), s.driverFeatures() | 1L << 40, true, s.queues()));
        refused("driverFeatures: 0x30000001 were not offered or lack VERSION_1, yet FEATURES_OK is set",
                s -> with(s, s.status(), s.driverFeatures() & ~VirtioFeatures.VERSION_1, true, s.queues()));
        refused("activated: the device was started without DRIVER_OK", s -> with(s, 11, s.driverFeatures(), true, s.queues()));
        refused("deviceType: 1 differs from this device's 42", s -> new VirtioMmioTransport.State(1, s.offeredFeatures(), 0, 0,
                s.driverFeatures(), 0, s.status(), 0, 0, true, s.queues()));
        refused("offeredFeatures: 0x130000001 differ from this device's 0x130000003",
                s -> new VirtioMmioTransport.State(42, s.offeredFeatures() & ~LoopbackDevice.FEATURE_B, 0, 0,
                        s.driverFeatures(), 0, s.status(), 0, 0, true, s.queues()));
        refused("queues: 1 differs from this device's 2", s -> with(s, s.status(), s.driverFeatures(), true,
                List.of(s.queues().getFirst())));
    }

    @Test
    void queueIndicesOutOfRangeAreRefusedNamingTheField() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new Virtqueue.State(16, 16, true, 0, 0x100, 0x200, false, false, 0x10000, 0, 0, false, false));
        assertEquals("nextAvail: 65536 is not a 16-bit index", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Virtqueue.State(16, 16, true, 0, 0x100, 0x200, false, false, 0, -1, 0, false, false));
        assertEquals("nextUsed: -1 is not a 16-bit index", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new Virtqueue.State(48, 16, true, 0, 0x100, 0x200, false, false, 0, 0, 0, false, false));
        assertEquals("maxSize must be a power of two from 1 to 32768: 48", e.getMessage());
    }

    @Test
    void aDeviceThatRefusesToStartLeavesTheTransportUntouched() {
        VirtioMmioTransport.State state = running();
        LoopbackDevice device = new LoopbackDevice();
        device.failActivation = true;
        VirtioMmioTransport t = new VirtioMmioTransport(device, memory, b -> { });
        VirtioMmioTransport.State before = t.state();
        var e = assertThrows(IllegalArgumentException.class, () -> t.restore(state));
        assertEquals("activated: the device refused to start: test: activation fails", e.getMessage());
        assertEquals(before, t.state());
    }

    @Test
    void aTransportInUseIsNotRestoredInto() {
        VirtioMmioTransport t = fresh(new ArrayList<>());
        new MmioDriver(t).write(MmioDriver.STATUS, DeviceStatus.ACKNOWLEDGE);
        assertThrows(IllegalStateException.class, () -> t.restore(running()));
    }

    @Test
    void decodingRefusesBadValuesNamingTheSection() {
        VirtioMmioTransport.State state = running();
        StateWriter out = new StateWriter();
        state.write(out);
        byte[] payload = out.toSection("virtio0").payload();
        payload[4 + 8 + 4 + 4 + 8 + 4 + 3] |= (byte) 0x30; // status gains unknown bits
        var e = assertThrows(SnapshotException.class, () -> VirtioMmioTransport.State.read(new Section("virtio0", payload).reader()));
        assertEquals("section virtio0: status: 0x3f has unknown bits", e.getMessage());
        byte[] truncated = java.util.Arrays.copyOf(out.toSection("virtio0").payload(), 60);
        e = assertThrows(SnapshotException.class, () -> VirtioMmioTransport.State.read(new Section("virtio0", truncated).reader()));
        assertTrue(e.getMessage().startsWith("section virtio0: field "), e.getMessage());
    }

    @Test
    void aRestoredTransportServesTheNextRequestAsTheOriginalWould() throws Exception {
        List<Boolean> line = new ArrayList<>();
        VirtioMmioTransport original = fresh(line);
        MmioDriver driver = new MmioDriver(original);
        MockDriver q0 = new MockDriver(memory, 16, 0x1000, 0x4000);
        MockDriver q1 = new MockDriver(memory, 8, q0.end(), 0x4000);
        assertEquals(OK, driver.start(VirtioFeatures.TRANSPORT | LoopbackDevice.FEATURE_A, q0, q1));
        for (int i = 0; i < 5; i++) {
            q1.add(q1.readable(("ping" + i).getBytes(StandardCharsets.US_ASCII)), q1.writable(8));
            driver.notifyQueue(1);
            q1.takeUsed();
            driver.acknowledgeInterrupt();
        }
        q1.setUsedEvent(5); // EVENT_IDX: interrupt at the next used buffer
        VirtioMmioTransport.State saved = throughFile(original.state());
        int head = q1.add(q1.readable("pong".getBytes(StandardCharsets.US_ASCII)), q1.writable(8));
        byte[] before = memory.read(0, MEMORY);

        driver.notifyQueue(1);
        byte[] afterOriginal = memory.read(0, MEMORY);
        int interruptOriginal = driver.read(MmioDriver.INTERRUPT_STATUS);

        memory.write(0, before);
        List<Boolean> restoredLine = new ArrayList<>();
        VirtioMmioTransport restored = fresh(restoredLine);
        restored.restore(saved);
        MmioDriver restoredDriver = new MmioDriver(restored);
        assertEquals(OK, restoredDriver.read(MmioDriver.STATUS));
        restoredDriver.notifyQueue(1);
        assertArrayEquals(afterOriginal, memory.read(0, MEMORY), "the same used entry, index and data");
        assertEquals(interruptOriginal, restoredDriver.read(MmioDriver.INTERRUPT_STATUS));
        assertEquals(List.of(true), restoredLine);
        assertEquals(List.of(new Used(head, 4)), q1.takeUsed());
        assertEquals(6, q1.usedIdx());
    }
}
