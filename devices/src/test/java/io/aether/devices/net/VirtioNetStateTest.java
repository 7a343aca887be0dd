package io.aether.devices.net;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.common.MacAddress;
import io.aether.devices.LineRecorder;
import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateWriter;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import io.aether.virtio.MmioDriver;
import io.aether.virtio.MockDriver;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.VirtioMmioTransport;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioNetStateTest {

    private static final int MEMORY = 4 << 20;
    private static final MacAddress MAC = MacAddress.parse("52:54:00:ab:cd:ef");

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)));
    private final MockDriver rxDriver = new MockDriver(memory, 16, 0x1000, 0x100000);
    private final MockDriver txDriver = new MockDriver(memory, 16, rxDriver.end(), 0x100000);

    @AfterEach
    void close() {
        memory.close();
    }

    private static VirtioNet.State throughCodec(VirtioNet.State state) throws SnapshotException {
        StateWriter out = new StateWriter();
        state.write(out);
        var in = StateFile.decode(StateFile.encode(List.of(out.toSection("net0")))).getFirst().reader();
        var back = VirtioNet.State.read(in);
        in.end();
        return back;
    }

    @Test
    void statesSurviveTheCodecAndARestore() {
        Gen<VirtioNet.Options> options = Gen.longs(0, 0xFFFF_FFFF_FFFFL).flatMap(mac -> Gen.choose(0, 68, 1500, 65535)
                .flatMap(mtu -> Gen.choose(16, 256, 32768).map(size -> new VirtioNet.Options(new MacAddress(mac & ~(1L << 40)), mtu, size))));
        Property.forAll(options, Gen.booleans()).tries(300).check((opts, stalled) -> {
            var state = new VirtioNet.State(opts, stalled);
            assertEquals(state, throughCodec(state));
            VirtioNet net = new VirtioNet(new FakeBackend(), opts);
            net.activate(memory, VirtioFeatures.TRANSPORT, List.of(rxDriver.queue(opts.queueSize(), VirtioFeatures.TRANSPORT),
                    txDriver.queue(opts.queueSize(), VirtioFeatures.TRANSPORT)), new RecordingInterrupt());
            net.restore(throughCodec(state));
            assertEquals(state, net.state());
        });
    }

    @Test
    void refusesAnotherMacOrReceiveOnAStoppedDevice() {
        VirtioNet net = new VirtioNet(new FakeBackend(), VirtioNet.Options.of(MAC));
        var other = new VirtioNet.State(VirtioNet.Options.of(MacAddress.parse("52:54:00:00:00:01")), true);
        var e = assertThrows(IllegalArgumentException.class, () -> net.restore(other));
        assertTrue(e.getMessage().startsWith("options: the snapshot's "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> net.restore(new VirtioNet.State(VirtioNet.Options.of(MAC), false)));
        assertEquals("rxStalled: receive was running, but the device is not started", e.getMessage());
        assertTrue(net.state().rxStalled(), "unchanged");
    }

    @Test
    void decodingRefusesAMulticastMacNamingTheSection() {
        StateWriter out = new StateWriter().i64(0x01_00_00_00_00_00L).i32(0).i32(256).bool(true);
        var e = assertThrows(SnapshotException.class, () -> VirtioNet.State.read(out.toSection("net0").reader()));
        assertTrue(e.getMessage().startsWith("section net0: a guest MAC address must be unicast"), e.getMessage());
    }

    @Test
    void aRestoredDeviceReceivesAndSendsAsTheOriginalWould() throws Exception {
        FakeBackend backend = new FakeBackend();
        VirtioNet net = new VirtioNet(backend, VirtioNet.Options.of(MAC));
        VirtioMmioTransport transport = new VirtioMmioTransport(net, memory, new LineRecorder());
        MmioDriver mmio = new MmioDriver(transport);
        mmio.start(mmio.deviceFeatures(), rxDriver, txDriver);
        for (int i = 0; i < 4; i++) rxDriver.add(rxDriver.writable(1526));
        mmio.notifyQueue(0);
        backend.offer(VirtioNetTest.frame(60, 1));
        net.processRx();
        rxDriver.takeUsed();
        mmio.acknowledgeInterrupt();
        assertFalse(net.rxStalled(), "receive runs: the guest still has buffers");

        StateWriter t = new StateWriter();
        transport.state().write(t);
        StateWriter d = new StateWriter();
        net.state().write(d);
        List<Section> saved = StateFile.decode(StateFile.encode(List.of(t.toSection("net0.transport"), d.toSection("net0.device"))));
        txDriver.add(txDriver.readable(new byte[12 + 42]));
        byte[] guestBefore = memory.read(0, MEMORY);

        backend.offer(VirtioNetTest.frame(90, 7));
        net.processRx();
        mmio.notifyQueue(1);
        byte[] guestAfter = memory.read(0, MEMORY);
        int interrupt = mmio.read(MmioDriver.INTERRUPT_STATUS);

        memory.write(0, guestBefore);
        FakeBackend newBackend = new FakeBackend();
        VirtioNet restoredNet = new VirtioNet(newBackend, VirtioNet.Options.of(MAC));
        VirtioMmioTransport restored = new VirtioMmioTransport(restoredNet, memory, new LineRecorder());
        restored.restore(VirtioMmioTransport.State.read(saved.get(0).reader()));
        restoredNet.restore(VirtioNet.State.read(saved.get(1).reader()));
        assertFalse(restoredNet.rxStalled(), "the network pump polls it without waiting for the guest");
        newBackend.offer(VirtioNetTest.frame(90, 7));
        restoredNet.processRx();
        new MmioDriver(restored).notifyQueue(1);
        assertArrayEquals(guestAfter, memory.read(0, MEMORY), "the same frame in the same buffer, the same used indices");
        assertEquals(interrupt, new MmioDriver(restored).read(MmioDriver.INTERRUPT_STATUS));
        assertArrayEquals(backend.sent().getFirst(), newBackend.sent().getFirst());
        assertEquals(2, rxDriver.usedIdx());
    }
}
