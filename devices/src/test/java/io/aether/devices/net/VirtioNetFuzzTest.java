package io.aether.devices.net;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Coverage;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.QueueCounters;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.Virtqueue;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzz target for virtio-net: random transmit and receive chains (sizes, splits, directions,
 * buffers outside memory), frames arriving at the backend, notifications and backend wake-ups in
 * any order. Nothing may escape, every transmit chain is sent or dropped, every frame taken from
 * the backend is delivered or dropped, and every receive chain is used or counted as a fault.
 */
class VirtioNetFuzzTest {

    static final long MEMORY = 8 << 20;

    /** kind: 0 TX chain, 1 RX chain, 2 frame arrives, 3 notify RX, 4 notify TX, 5 processRx. */
    record Op(int kind, List<Integer> lengths, List<Boolean> writable, boolean outside, int frameLength) {
    }

    @Test
    void netDeviceSurvivesAnyTraffic() {
        Coverage coverage = new Coverage();
        Property.forAll(ops()).tries(150).check(ops -> {
            VirtioNet.Counters c = run(ops);
            coverage.collect("received", c.rxPackets() > 0);
            coverage.collect("sent", c.txPackets() > 0);
        });
        // The generators must reach delivery and transmission, not only refusals.
        coverage.require("received", 25);
        coverage.require("sent", 25);
    }

    @Test
    void linuxLikeTraffic() {
        run(List.of(new Op(1, List.of(1526), List.of(true), false, 0), new Op(3, List.of(), List.of(), false, 0),
                new Op(2, List.of(), List.of(), false, 98), new Op(5, List.of(), List.of(), false, 0),
                new Op(0, List.of(12, 98), List.of(false, false), false, 0), new Op(4, List.of(), List.of(), false, 0)));
    }

    private static VirtioNet.Counters run(List<Op> ops) {
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            MockDriver rxDriver = new MockDriver(memory, 16, 0x1000, 3 << 20);
            MockDriver txDriver = new MockDriver(memory, 16, rxDriver.end(), 3 << 20);
            Virtqueue rx = rxDriver.queue(16, VirtioFeatures.TRANSPORT);
            Virtqueue tx = txDriver.queue(16, VirtioFeatures.TRANSPORT);
            FakeBackend backend = new FakeBackend();
            VirtioNet net = new VirtioNet(backend, VirtioNet.Options.of(VirtioNetTest.MAC));
            net.activate(memory, VirtioFeatures.TRANSPORT, List.of(rx, tx), new RecordingInterrupt());
            int offered = 0;
            for (Op op : ops) {
                switch (op.kind()) {
                    case 0, 1 -> {
                        MockDriver d = op.kind() == 0 ? txDriver : rxDriver;
                        long bytes = op.lengths().stream().mapToLong(n -> n + 8).sum();
                        if (d.freeDescriptors() < op.lengths().size() || d.dataLeft() < bytes) continue;
                        Buffer[] buffers = new Buffer[op.lengths().size()];
                        for (int i = 0; i < buffers.length; i++) {
                            int len = op.lengths().get(i);
                            buffers[i] = op.writable().get(i) ? d.writable(len) : d.readable(new byte[len]);
                        }
                        if (op.outside()) buffers[0] = new Buffer(MEMORY - 16, 64, buffers[0].writable());
                        d.add(buffers);
                    }
                    case 2 -> {
                        backend.offer(VirtioNetTest.frame(op.frameLength(), offered));
                        offered++;
                    }
                    case 3 -> net.queueNotify(0);
                    case 4 -> net.queueNotify(1);
                    default -> net.processRx();
                }
                rxDriver.takeUsed();
                txDriver.takeUsed();
            }
            // The driver's last kicks and the backend's last wake-up.
            net.queueNotify(1);
            net.queueNotify(0);
            net.processRx();
            VirtioNet.Counters c = net.counters();
            QueueCounters txq = tx.counters();
            QueueCounters rxq = rx.counters();
            assertEquals(txq.chains(), c.txPackets() + c.txDropped(), "every transmit chain sent or dropped");
            assertEquals(offered, c.rxPackets() + c.rxDropped() + backend.waiting(), "every frame delivered, dropped or waiting");
            // No call leaves a receive chain popped: each is used, a fault, or put back.
            long txFaults = c.txDropped() - c.txErrors();
            assertEquals(rxq.chains(), c.rxPackets() + c.faults() - txFaults, "every receive chain used or a fault");
            assertEquals(backend.sent().size(), c.txPackets());
            assertTrue(c.rxBytes() <= (long) offered * VirtioNet.MAX_FRAME);
            return c;
        }
    }

    private static Gen<List<Op>> ops() {
        Gen<Integer> length = Gen.frequency(weighted(5, Gen.choose(0, 11, 12, 14, 60, 1514, 1526)), weighted(1, Gen.ints(0, 70_000)));
        Gen<Integer> kind = Gen.choose(0, 1);
        Gen<Boolean> outside = Gen.frequency(weighted(4, Gen.constant(false)), weighted(1, Gen.constant(true)));
        Gen<Op> hostile = Gen.ints(1, 3).flatMap(n -> {
            Gen<List<Integer>> lengths = Gen.lists(length, n, n);
            Gen<List<Boolean>> writable = Gen.lists(Gen.booleans(), n, n);
            return r -> new Op(kind.next(r), lengths.next(r), writable.next(r), outside.next(r), 0);
        });
        // What Linux submits: header and frame readable for transmit; one big writable buffer, or
        // header and payload buffers, for receive.
        Gen<Op> tx = Gen.frequency(weighted(5, Gen.choose(60, 98, 1514)), weighted(1, Gen.ints(1, VirtioNet.MAX_FRAME)))
                .map(n -> new Op(0, List.of(VirtioNet.HEADER_BYTES, n), List.of(false, false), false, 0));
        Gen<Op> rx = Gen.choose(List.of(1526), List.of(12, 1514), List.of(12 + VirtioNet.MAX_FRAME), List.of(100))
                .map(lengths -> new Op(1, lengths, lengths.stream().map(n -> true).toList(), false, 0));
        Gen<Op> frame = Gen.frequency(weighted(5, Gen.choose(14, 60, 1514)), weighted(1, Gen.ints(1, VirtioNet.MAX_FRAME)))
                .map(n -> new Op(2, List.of(), List.of(), false, n));
        Gen<Op> event = Gen.choose(3, 4, 5).map(k -> new Op(k, List.of(), List.of(), false, 0));
        return Gen.lists(Gen.frequency(weighted(1, hostile), weighted(2, tx), weighted(2, rx), weighted(2, frame), weighted(3, event)),
                4, 40);
    }
}
