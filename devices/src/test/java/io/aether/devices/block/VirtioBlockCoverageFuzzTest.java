package io.aether.devices.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz target for virtio-blk: up to 12 request chains read from the input
 * (headers chosen by the fuzzer, any split and direction, now and then a buffer anywhere) against
 * an 8 KiB image, read-only or not. Nothing escapes, the counters add up and the image keeps its
 * size; until a chain has a buffer anywhere (which may cover the rings or bring bytes the test did
 * not choose), each chain is answered once, and the image and what reads return follow a shadow
 * copy of the disk kept by the test: a successful write changes exactly its sectors, a successful
 * read returns exactly them.
 */
@Timeout(120)
class VirtioBlockCoverageFuzzTest {

    static final int SECTORS = 16;
    static final long MEMORY = 1 << 20;
    private static Path image;

    @Test
    void block() {
        Fuzzer.target(getClass(), "block").maxLength(2048).run();
    }

    static void block(FuzzInput in) throws IOException {
        boolean readOnly = in.consumeBoolean();
        byte[] disk = new byte[SECTORS * 512];
        for (int i = 0; i < disk.length; i++) disk[i] = (byte) (i * 7 + i / 512);
        if (image == null) {
            image = Files.createTempFile("aether-blk-fuzz", ".img");
            image.toFile().deleteOnExit();
        }
        Files.write(image, disk);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)));
             VirtioBlock device = VirtioBlock.open(image, VirtioBlock.Options.defaults().withReadOnly(readOnly))) {
            MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x40000);
            Virtqueue queue = driver.queue(16, VirtioFeatures.TRANSPORT);
            device.activate(memory, VirtioFeatures.TRANSPORT, List.of(queue), new RecordingInterrupt());
            // After a chain with a buffer anywhere (bytes the test did not choose) only the counters are checked.
            FuzzChains.Submitted submitted = FuzzChains.submitEach(driver, in, 12, 1100, () -> device.queueNotify(0), (chain, used) -> {
                if (used.length() > 0) followShadow(disk, chain, FuzzChains.written(driver, chain), readOnly);
            });
            VirtioBlock.Counters c = device.counters();
            QueueCounters q = queue.counters();
            assertEquals(q.chains(), c.reads() + c.writes() + c.flushes() + c.idRequests() + c.faults() + c.unsupported() + c.ioErrors());
            assertEquals(0, c.ioErrors());
            assertEquals(disk.length, Files.size(image), "the image keeps its size");
            if (submitted.hostile()) return;
            assertEquals(submitted.chains(), q.taken());
        }
        assertArrayEquals(disk, Files.readAllBytes(image), "the image is the shadow disk");
    }

    /** Checks a request the device answered (with a status) against the shadow disk, and applies a successful write to it. */
    private static void followShadow(byte[] disk, FuzzChains.Chain chain, byte[] written, boolean readOnly) {
        byte[] r = chain.readable();
        if (r.length < 16 || written.length == 0) return;
        ByteBuffer h = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
        int type = h.getInt(0);
        long sector = h.getLong(8);
        byte status = written[written.length - 1];
        if (status != VirtioBlock.S_OK) return;
        switch (type) {
            case VirtioBlock.T_IN -> {
                int from = (int) (sector * 512);
                assertArrayEquals(Arrays.copyOfRange(disk, from, from + written.length - 1), Arrays.copyOf(written, written.length - 1),
                        "a read returns the sectors it names");
            }
            case VirtioBlock.T_OUT -> {
                assertEquals(false, readOnly, "a read-only disk accepted a write");
                System.arraycopy(r, 16, disk, (int) (sector * 512), r.length - 16);
            }
            default -> { }
        }
    }

    /** GET_ID, a two-sector read split over two buffers, a one-sector write, a flush: as Linux sends them. */
    static byte[] seed() {
        ByteBuffer b = ByteBuffer.allocate(400).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0); // writable image
        chain(b, VirtioBlock.T_GET_ID, 0, new int[] {16, 20, 1}, new boolean[] {false, true, true});
        chain(b, VirtioBlock.T_IN, 3, new int[] {16, 512, 512, 1}, new boolean[] {false, true, true, true});
        chain(b, VirtioBlock.T_OUT, 5, new int[] {16, 512, 1}, new boolean[] {false, false, true});
        chain(b, VirtioBlock.T_FLUSH, 0, new int[] {16, 1}, new boolean[] {false, true});
        return Arrays.copyOf(b.array(), b.position());
    }

    /** Writes one chain as {@link FuzzChains#add} reads it: a header buffer first, data buffers filled with a pattern. */
    private static void chain(ByteBuffer b, int type, long sector, int[] lengths, boolean[] writable) {
        b.put((byte) (lengths.length - 1));
        for (int i = 0; i < lengths.length; i++) {
            b.putShort((short) lengths[i]).put((byte) (writable[i] ? 1 : 0)).put((byte) 1); // 1: in the data area
            if (writable[i]) continue;
            byte[] filled = new byte[Math.min(lengths[i], 32)];
            if (i == 0) {
                ByteBuffer.wrap(filled).order(ByteOrder.LITTLE_ENDIAN).putInt(0, type).putLong(8, sector);
            } else {
                Arrays.fill(filled, (byte) 0x5A);
            }
            b.put(filled);
        }
    }

    @Test
    void theSeedIsServedWhole() throws IOException {
        block(new FuzzInput(seed()));
        // The write reached sector 5: 32 bytes of the pattern, then the zeros of the 512-byte buffer.
        byte[] sector5 = Arrays.copyOfRange(Files.readAllBytes(image), 5 * 512, 6 * 512);
        byte[] expected = new byte[512];
        Arrays.fill(expected, 0, 32, (byte) 0x5A);
        assertArrayEquals(expected, sector5);
    }
}
