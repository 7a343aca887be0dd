package io.aether.devices.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.devices.LineRecorder;
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
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import io.aether.virtio.VirtioMmioTransport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioBlockStateTest {

    private static final int MEMORY = 1 << 20;

    @TempDir
    Path dir;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)));

    @AfterEach
    void close() {
        memory.close();
    }

    private Path image(int sectors) throws Exception {
        Path image = dir.resolve("disk.img");
        byte[] bytes = new byte[sectors * 512];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i * 13 + i / 512);
        Files.write(image, bytes);
        return image;
    }

    /** A snapshot's two sections for one disk, written to a state file and read back. */
    private static List<Section> save(VirtioMmioTransport transport, VirtioBlock device) throws SnapshotException {
        StateWriter t = new StateWriter();
        transport.state().write(t);
        StateWriter d = new StateWriter();
        device.state().write(d);
        return StateFile.decode(StateFile.encode(List.of(t.toSection("virtio0.transport"), d.toSection("virtio0.block"))));
    }

    @Test
    void statesSurviveTheCodec() {
        Gen<String> ids = Gen.strings(0, 20, ' ', '~');
        Property.forAll(Gen.longs(0, Long.MAX_VALUE), ids, Gen.choose(4, 8, 256, 32768)).tries(300).check((capacity, id, size) -> {
            for (boolean readOnly : new boolean[] {false, true}) {
                var state = new VirtioBlock.State(capacity, readOnly, id, size);
                StateWriter out = new StateWriter();
                state.write(out);
                var in = out.toSection("blk").reader();
                assertEquals(state, VirtioBlock.State.read(in));
                in.end();
            }
        });
    }

    @Test
    void aRestoredDiskAnswersTheNextRequestAsTheOriginalWould() throws Exception {
        Path image = image(64);
        MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x40000);
        VirtioBlock device = VirtioBlock.open(image, VirtioBlock.Options.defaults().withId("root"));
        VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, new LineRecorder());
        MmioDriver mmio = new MmioDriver(transport);
        mmio.start(mmio.deviceFeatures(), driver);
        for (int i = 0; i < 7; i++) {
            driver.add(driver.readable(VirtioBlockTest.header(VirtioBlock.T_IN, i)), driver.writable(512), driver.writable(1));
            mmio.notifyQueue(0);
            driver.takeUsed();
            mmio.acknowledgeInterrupt();
        }
        List<Section> saved = save(transport, device);
        Buffer status = driver.writable(1);
        int head = driver.add(driver.readable(VirtioBlockTest.header(VirtioBlock.T_OUT, 9)), driver.readable(new byte[512]), status);
        byte[] guestBefore = memory.read(0, MEMORY);
        byte[] diskBefore = Files.readAllBytes(image);

        mmio.notifyQueue(0);
        byte[] guestAfter = memory.read(0, MEMORY);
        byte[] diskAfter = Files.readAllBytes(image);
        int interrupt = mmio.read(MmioDriver.INTERRUPT_STATUS);
        device.close();

        memory.write(0, guestBefore);
        Files.write(image, diskBefore);
        try (VirtioBlock reopened = VirtioBlock.open(image, VirtioBlock.Options.defaults().withId("root"))) {
            LineRecorder line = new LineRecorder();
            VirtioMmioTransport restored = new VirtioMmioTransport(reopened, memory, line);
            reopened.restore(VirtioBlock.State.read(saved.get(1).reader()));
            restored.restore(VirtioMmioTransport.State.read(saved.get(0).reader()));
            new MmioDriver(restored).notifyQueue(0);
            assertArrayEquals(guestAfter, memory.read(0, MEMORY), "the same used entry, index and status");
            assertArrayEquals(diskAfter, Files.readAllBytes(image));
            assertEquals(interrupt, new MmioDriver(restored).read(MmioDriver.INTERRUPT_STATUS));
            assertEquals(List.of(new Used(head, 1)), driver.takeUsed());
            assertEquals(8, driver.usedIdx());
        }
    }

    @Test
    void aDiskThatChangedIsRefusedNamingWhat() throws Exception {
        Path image = image(64);
        VirtioBlock.State state;
        try (VirtioBlock device = VirtioBlock.open(image, VirtioBlock.Options.defaults().withId("root"))) {
            state = device.state();
        }
        Files.write(image, new byte[32 * 512]);
        try (VirtioBlock smaller = VirtioBlock.open(image, VirtioBlock.Options.defaults().withId("root"))) {
            assertEquals("capacity: the disk has 32 sectors, the snapshot 64 (its size changed)",
                    assertThrows(IllegalArgumentException.class, () -> smaller.restore(state)).getMessage());
        }
        image(64);
        try (VirtioBlock readOnly = VirtioBlock.open(image, VirtioBlock.Options.defaults().withId("root").withReadOnly(true))) {
            assertEquals("readOnly: the disk is read-only, in the snapshot it was not",
                    assertThrows(IllegalArgumentException.class, () -> readOnly.restore(state)).getMessage());
        }
        try (VirtioBlock other = VirtioBlock.open(image, VirtioBlock.Options.defaults().withId("data"))) {
            assertEquals("id: the disk's is 'data', the snapshot's 'root'",
                    assertThrows(IllegalArgumentException.class, () -> other.restore(state)).getMessage());
        }
        try (VirtioBlock other = VirtioBlock.open(image, new VirtioBlock.Options(false, "root", 64))) {
            assertEquals("queueSize: the disk's is 64, the snapshot's 256",
                    assertThrows(IllegalArgumentException.class, () -> other.restore(state)).getMessage());
        }
    }

    @Test
    void decodingRefusesWhatOptionsRefuse() {
        StateWriter out = new StateWriter().i64(64).bool(false).bytes(new byte[21]).i32(256);
        assertEquals("section blk: field id: length 21 is more than 20",
                assertThrows(SnapshotException.class, () -> VirtioBlock.State.read(out.toSection("blk").reader())).getMessage());
        StateWriter size = new StateWriter().i64(64).bool(false).bytes(new byte[0]).i32(6);
        assertEquals("section blk: block queue size must be a power of two from 4 to 32768: 6",
                assertThrows(SnapshotException.class, () -> VirtioBlock.State.read(size.toSection("blk").reader())).getMessage());
        StateWriter negative = new StateWriter().i64(-1).bool(false).bytes(new byte[0]).i32(8);
        assertEquals("section blk: capacity: -1 sectors is negative",
                assertThrows(SnapshotException.class, () -> VirtioBlock.State.read(negative.toSection("blk").reader())).getMessage());
    }
}
