package io.aether.devices.block;

import static io.aether.testkit.Gen.weighted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Fuzz target for virtio-blk: random request chains (types, sectors, lengths, descriptor splits
 * and directions, missing or read-only status, buffers outside memory) against a small image.
 * Nothing may escape, every chain must be answered, counters must add up, the image must keep its
 * size, and a read-only image must not change.
 */
class VirtioBlockFuzzTest {

    static final int SECTORS = 16;
    static final long MEMORY = 1 << 20;

    /** How a request is laid out. {@code status}: 0 writable byte, 1 missing, 2 read-only byte, 3 two bytes. */
    record Request(int type, long sector, int headerLength, int dataLength, boolean dataWritable, int pieces, int status,
                   boolean outside) {
    }

    @Test
    void blockDeviceSurvivesAnyRequests() {
        Coverage coverage = new Coverage();
        Property.forAll(requests(), Gen.booleans()).tries(150).check((requests, readOnly) -> {
            VirtioBlock.Counters c = run(requests, readOnly);
            coverage.collect("served", c.reads() + c.writes() > 0);
            coverage.collect("refused", c.faults() > 0);
        });
        // The generators must reach both the data paths and the refusals.
        coverage.require("served", 20);
        coverage.require("refused", 20);
    }

    @Test
    void linuxLikeTraffic() throws IOException {
        run(List.of(new Request(VirtioBlock.T_GET_ID, 0, 16, 20, true, 1, 0, false),
                new Request(VirtioBlock.T_IN, 0, 16, 4096, true, 1, 0, false),
                new Request(VirtioBlock.T_OUT, 8, 16, 1024, false, 2, 0, false),
                new Request(VirtioBlock.T_FLUSH, 0, 16, 0, true, 1, 0, false)), false);
    }

    private static VirtioBlock.Counters run(List<Request> requests, boolean readOnly) throws IOException {
        Path image = Files.createTempFile("aether-blk-fuzz", ".img");
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            byte[] original = new byte[SECTORS * 512];
            for (int i = 0; i < original.length; i++) original[i] = (byte) i;
            Files.write(image, original);
            try (VirtioBlock device = VirtioBlock.open(image, VirtioBlock.Options.defaults().withReadOnly(readOnly))) {
                MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x80000);
                Virtqueue queue = driver.queue(16, VirtioFeatures.TRANSPORT);
                device.activate(memory, VirtioFeatures.TRANSPORT, List.of(queue), new RecordingInterrupt());
                for (Request r : requests) {
                    driver.add(layout(driver, r));
                    device.queueNotify(0);
                    assertEquals(1, driver.takeUsed().size(), "every chain is answered");
                }
                VirtioBlock.Counters c = device.counters();
                QueueCounters q = queue.counters();
                assertEquals(requests.size(), q.taken());
                assertEquals(q.chains(), c.reads() + c.writes() + c.flushes() + c.idRequests() + c.faults() + c.unsupported() + c.ioErrors());
                assertEquals(0, c.ioErrors());
                assertEquals(original.length, Files.size(image));
                if (readOnly) assertArrayEquals(original, Files.readAllBytes(image));
                return c;
            }
        } finally {
            Files.delete(image);
        }
    }

    private static Buffer[] layout(MockDriver d, Request r) {
        List<Buffer> out = new ArrayList<>();
        byte[] header = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(r.type()).putInt(0).putLong(r.sector()).array();
        byte[] h = new byte[r.headerLength()];
        System.arraycopy(header, 0, h, 0, Math.min(16, h.length));
        out.add(d.readable(h));
        int pieces = Math.max(1, r.pieces());
        int per = r.dataLength() / pieces;
        for (int i = 0; i < pieces; i++) {
            int len = i == pieces - 1 ? r.dataLength() - per * (pieces - 1) : per;
            if (len == 0) continue;
            Buffer b = r.dataWritable() ? d.writable(len) : d.readable(new byte[len]);
            if (r.outside() && i == 0) b = new Buffer(MEMORY - 8, len, b.writable());
            out.add(b);
        }
        switch (r.status()) {
            case 0 -> out.add(d.writable(1));
            case 2 -> out.add(d.readable(new byte[1]));
            case 3 -> out.add(d.writable(2));
            default -> { }
        }
        return out.toArray(Buffer[]::new);
    }

    private static Gen<List<Request>> requests() {
        Gen<Integer> type = Gen.frequency(weighted(8, Gen.choose(0, 1, 4, 8)), weighted(1, Gen.ints()));
        Gen<Long> sector = Gen.frequency(weighted(6, Gen.longs(0, SECTORS)),
                weighted(1, Gen.choose(-1L, Long.MAX_VALUE, Long.MAX_VALUE / 512, (long) SECTORS - 1)),
                weighted(1, Gen.longs()));
        Gen<Integer> header = Gen.frequency(weighted(8, Gen.constant(16)), weighted(1, Gen.ints(0, 24)));
        Gen<Integer> data = Gen.frequency(weighted(6, Gen.choose(0, 512, 1024, 2048, 20)), weighted(2, Gen.ints(0, 9000)));
        Gen<Boolean> dataWritable = Gen.booleans();
        Gen<Integer> pieces = Gen.ints(1, 4);
        Gen<Integer> status = Gen.frequency(weighted(6, Gen.constant(0)), weighted(1, Gen.choose(1, 2, 3)));
        Gen<Boolean> outside = Gen.frequency(weighted(9, Gen.constant(false)), weighted(1, Gen.constant(true)));
        Gen<Request> request = r -> new Request(type.next(r), sector.next(r), header.next(r), data.next(r), dataWritable.next(r),
                pieces.next(r), status.next(r), outside.next(r));
        return Gen.lists(request, 1, 12);
    }
}
