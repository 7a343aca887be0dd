package io.aether.devices.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.devices.RecordingInterrupt;
import io.aether.devices.ratelimit.ManualClock;
import io.aether.devices.ratelimit.Throttle;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import io.aether.virtio.VirtioFeatures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class VirtioBlockRateLimitTest {

    private static final long MS = 1_000_000;

    @TempDir
    Path dir;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    private final MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x40000);
    private final RecordingInterrupt interrupt = new RecordingInterrupt();
    private final ManualClock clock = new ManualClock();
    private byte[] original;
    private VirtioBlock device;

    @AfterEach
    void tearDown() throws IOException {
        if (device != null) device.close();
        memory.close();
    }

    private void start(Throttle throttle) throws IOException {
        Path image = dir.resolve("disk.img");
        original = new byte[64 * 512];
        for (int i = 0; i < original.length; i++) original[i] = (byte) (i * 13 + i / 512);
        Files.write(image, original);
        device = VirtioBlock.open(image, VirtioBlock.Options.defaults(), throttle);
        device.activate(memory, VirtioFeatures.TRANSPORT, List.of(driver.queue(16, VirtioFeatures.TRANSPORT)), interrupt);
    }

    /** Adds a read of {@code sectors} sectors at {@code sector}; its data and status buffers. */
    private Buffer[] read(long sector, int sectors) {
        Buffer data = driver.writable(sectors * 512);
        Buffer status = driver.writable(1);
        driver.add(driver.readable(VirtioBlockTest.header(VirtioBlock.T_IN, sector)), data, status);
        return new Buffer[] {data, status};
    }

    private void assertRead(Buffer[] request, long sector, int sectors) {
        assertEquals(VirtioBlock.S_OK, memory.readByte(request[1].address()), "status OK: throttled, never failed");
        assertArrayEquals(Arrays.copyOfRange(original, (int) sector * 512, (int) (sector + sectors) * 512),
                memory.read(request[0].address(), sectors * 512));
    }

    @Test
    void requestsOverTheIopsLimitWaitInTheQueueUntilTheRetry() throws IOException {
        start(clock.throttle(0, 0, 2, 2)); // 2 requests a second, 2 at once
        Buffer[] a = read(0, 1);
        Buffer[] b = read(1, 1);
        Buffer[] c = read(2, 1);
        device.queueNotify(0);
        List<Used> used = driver.takeUsed();
        assertEquals(2, used.size(), "two served, the third left in the queue");
        assertEquals(1, clock.pending(), "a retry is scheduled");
        assertEquals(500 * MS, clock.nextIn(), "for when the next token comes: 1/2 s");
        device.queueNotify(0); // the guest kicking again changes nothing before the tokens return
        assertEquals(List.of(), driver.takeUsed());
        assertEquals(1, clock.pending());
        clock.advance(500 * MS);
        assertEquals(1, driver.takeUsed().size(), "served by the retry, without a notification");
        assertRead(a, 0, 1);
        assertRead(b, 1, 1);
        assertRead(c, 2, 1);
        VirtioBlock.Counters counters = device.counters();
        assertEquals(3, counters.reads());
        assertEquals(0, counters.faults() + counters.ioErrors());
        assertEquals(2, counters.throttled(), "held back at the first pass and at the guest's second kick");
    }

    @Test
    void bandwidthIsChargedByTheRequestsData() throws IOException {
        start(clock.throttle(4096, 4096, 0, 0)); // 8 sectors a second
        Buffer[] big = read(0, 8);     // the whole bucket
        Buffer[] small = read(8, 2);   // 1024 bytes: a quarter of a second later
        device.queueNotify(0);
        assertEquals(1, driver.takeUsed().size());
        assertEquals(250 * MS, clock.nextIn());
        clock.advance(249 * MS);
        assertEquals(List.of(), driver.takeUsed());
        clock.advance(MS);
        assertEquals(1, driver.takeUsed().size());
        assertRead(big, 0, 8);
        assertRead(small, 8, 2);
        assertEquals(10 * 512, device.counters().bytesRead());
        assertEquals(1, device.counters().throttled());
    }
}
