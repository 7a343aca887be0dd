package io.aether.devices.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.FuzzChains;
import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import io.aether.virtio.MockDriver;
import io.aether.virtio.QueueCounters;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.Virtqueue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz target for virtio-net: up to 24 operations read from the input (a transmit
 * or receive chain, a frame arriving at the backend, a notification of either queue, a backend
 * wake-up). Nothing escapes and the counters account for every chain and frame; unless a chain
 * had a buffer anywhere (which may cover the rings), the frames the backend sends are the transmit
 * chains' bytes after the 12-byte header, in order, and the frames the guest receives are the
 * arriving frames, whole and in order, after a 12-byte header.
 */
@Timeout(120)
class VirtioNetCoverageFuzzTest {

    static final long MEMORY = 4 << 20;

    @Test
    void net() {
        Fuzzer.target(getClass(), "net").maxLength(2048).run();
    }

    static VirtioNet.Counters net(FuzzInput in) {
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            MockDriver rxDriver = new MockDriver(memory, 16, 0x1000, 1 << 20);
            MockDriver txDriver = new MockDriver(memory, 16, rxDriver.end(), 1 << 20);
            Virtqueue rx = rxDriver.queue(16, VirtioFeatures.TRANSPORT);
            Virtqueue tx = txDriver.queue(16, VirtioFeatures.TRANSPORT);
            FakeBackend backend = new FakeBackend();
            VirtioNet net = new VirtioNet(backend, VirtioNet.Options.of(VirtioNetTest.MAC));
            net.activate(memory, VirtioFeatures.TRANSPORT, List.of(rx, tx), new RecordingInterrupt());
            Map<Integer, FuzzChains.Chain> rxInFlight = new HashMap<>();
            List<byte[]> offered = new ArrayList<>();
            List<byte[]> received = new ArrayList<>();
            List<byte[]> transmitted = new ArrayList<>();
            boolean hostile = false;
            for (int op = 0; op < 24 && in.remaining() > 0; op++) {
                switch (in.consumeInt(0, 5)) {
                    case 0, 1 -> {
                        boolean isTx = in.consumeBoolean();
                        FuzzChains.Chain c = FuzzChains.add(isTx ? txDriver : rxDriver, in, 1600);
                        if (c == null) break;
                        hostile |= c.hostile();
                        if (isTx && c.readable().length > VirtioNet.HEADER_BYTES) {
                            transmitted.add(Arrays.copyOfRange(c.readable(), VirtioNet.HEADER_BYTES, c.readable().length));
                        }
                        if (!isTx) rxInFlight.put(c.head(), c);
                    }
                    case 2 -> {
                        byte[] frame = VirtioNetTest.frame(in.consumeInt(1, 1600), offered.size());
                        offered.add(frame);
                        backend.offer(frame);
                    }
                    case 3 -> net.queueNotify(0);
                    case 4 -> net.queueNotify(1);
                    default -> net.processRx();
                }
                if (hostile) continue; // a buffer anywhere may cover the rings: their contents are the guest's
                for (MockDriver.Used u : rxDriver.takeUsed()) {
                    FuzzChains.Chain c = rxInFlight.remove(u.id());
                    if (u.length() > VirtioNet.HEADER_BYTES) {
                        received.add(Arrays.copyOfRange(FuzzChains.written(rxDriver, c), VirtioNet.HEADER_BYTES, u.length()));
                    }
                }
                txDriver.takeUsed();
            }
            VirtioNet.Counters c = net.counters();
            QueueCounters txq = tx.counters();
            QueueCounters rxq = rx.counters();
            assertEquals(txq.chains(), c.txPackets() + c.txDropped(), "every transmit chain sent or dropped");
            assertEquals(offered.size(), c.rxPackets() + c.rxDropped() + backend.waiting(), "every frame delivered, dropped or waiting");
            assertEquals(backend.sent().size(), c.txPackets());
            assertTrue(rxq.chains() >= c.rxPackets());
            if (!hostile) {
                assertInOrder(backend.sent(), transmitted, "sent frames");
                assertInOrder(received, offered, "received frames");
            }
            return c;
        }
    }

    /** Each of {@code got} equals one of {@code from}, in the same order (some of {@code from} may be missing). */
    private static void assertInOrder(List<byte[]> got, List<byte[]> from, String what) {
        int at = 0;
        for (byte[] g : got) {
            while (at < from.size() && !Arrays.equals(g, from.get(at))) at++;
            assertTrue(at < from.size(), what + ": a frame of " + g.length + " bytes that was never given, or out of order");
            at++;
        }
    }

    /** A receive buffer, a frame arriving, a transmit of 12 + 60 bytes, each queue notified, a wake-up. */
    static byte[] seed() {
        ByteBuffer b = ByteBuffer.allocate(200).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 1).put((byte) 0).put((byte) 0).putShort((short) 1526).put((byte) 1).put((byte) 1); // RX: one writable buffer
        b.put((byte) 3); // notify RX
        b.put((byte) 2).putShort((short) 97); // a frame of 1 + 97 bytes arrives
        b.put((byte) 5); // backend wake-up
        b.put((byte) 0).put((byte) 1).put((byte) 1); // TX: two readable buffers
        b.putShort((short) VirtioNet.HEADER_BYTES).put((byte) 0).put((byte) 1).put(new byte[VirtioNet.HEADER_BYTES]);
        byte[] payload = new byte[32];
        Arrays.fill(payload, (byte) 0x42);
        b.putShort((short) 60).put((byte) 0).put((byte) 1).put(payload);
        b.put((byte) 4); // notify TX
        return Arrays.copyOf(b.array(), b.position());
    }

    @Test
    void theSeedSendsAndReceives() {
        VirtioNet.Counters c = net(new FuzzInput(seed()));
        assertEquals(1, c.rxPackets());
        assertEquals(98, c.rxBytes());
        assertEquals(1, c.txPackets());
        assertEquals(60, c.txBytes());
    }
}
