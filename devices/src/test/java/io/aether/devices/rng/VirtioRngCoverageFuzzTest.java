package io.aether.devices.rng;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.FuzzChains;
import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import io.aether.virtio.MockDriver;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.Virtqueue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz target for virtio-rng: up to 12 chains read from the input, each notified
 * at once. Nothing escapes and the counters add up; until a chain has a buffer anywhere (which
 * may cover the rings), each chain is answered once; a chain with only writable buffers gets
 * the source's bytes from its start, as many as it holds up to the per-request limit, and the used
 * length says so; any other chain is a fault with 0 bytes; the counters add up.
 */
@Timeout(120)
class VirtioRngCoverageFuzzTest {

    static final long MEMORY = 1 << 20;
    static final byte ENTROPY = (byte) 0xE7;

    @Test
    void rng() {
        Fuzzer.target(getClass(), "rng").maxLength(1024).run();
    }

    static void rng(FuzzInput in) {
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)))) {
            VirtioRng device = new VirtioRng(buffer -> Arrays.fill(buffer, ENTROPY), 16);
            MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x40000);
            Virtqueue queue = driver.queue(16, VirtioFeatures.TRANSPORT);
            device.activate(memory, VirtioFeatures.TRANSPORT, List.of(queue), new RecordingInterrupt());
            long[] served = new long[2]; // requests, bytes
            FuzzChains.Submitted submitted = FuzzChains.submitEach(driver, in, 12, 1100, () -> device.queueNotify(0), (chain, used) -> {
                long writable = chain.buffers().stream().filter(MockDriver.Buffer::writable).mapToLong(MockDriver.Buffer::length).sum();
                // Readable buffers may only be empty, and (2.7.4.2) none may follow a writable one.
                if (chain.readable().length == 0 && !readableAfterWritable(chain) && writable > 0) {
                    int n = (int) Math.min(writable, VirtioRng.MAX_BYTES_PER_REQUEST);
                    assertEquals(n, used.length(), "used length");
                    byte[] expected = new byte[n];
                    Arrays.fill(expected, ENTROPY);
                    assertArrayEquals(expected, Arrays.copyOf(FuzzChains.written(driver, chain), n), "the source's bytes, from the start");
                    served[0]++;
                    served[1] += n;
                } else {
                    assertEquals(0, used.length(), "a malformed chain gets 0 bytes");
                }
            });
            VirtioRng.Counters c = device.counters();
            assertEquals(queue.counters().chains(), c.requests() + c.faults());
            if (!submitted.hostile()) {
                assertEquals(submitted.chains(), queue.counters().taken());
                assertEquals(served[0], c.requests());
                assertEquals(served[1], c.bytes());
            }
        }
    }

    private static boolean readableAfterWritable(FuzzChains.Chain chain) {
        boolean sawWritable = false;
        for (MockDriver.Buffer b : chain.buffers()) {
            if (!b.writable() && sawWritable) return true;
            sawWritable |= b.writable();
        }
        return false;
    }

    /** Two one-buffer requests and one split over three buffers, then a malformed one with a readable buffer. */
    static byte[] seed() {
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] lengths : new int[][] {{64}, {16}, {8, 0, 100}}) {
            b.put((byte) (lengths.length - 1));
            for (int len : lengths) b.putShort((short) len).put((byte) 1).put((byte) 1);
        }
        b.put((byte) 1).putShort((short) 4).put((byte) 0).put((byte) 1).putInt(0x01020304).putShort((short) 8).put((byte) 1).put((byte) 1);
        return Arrays.copyOf(b.array(), b.position());
    }

    @Test
    void theSeedIsServed() {
        rng(new FuzzInput(seed()));
    }
}
