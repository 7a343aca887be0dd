package io.aether.devices.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.devices.LineRecorder;
import io.aether.devices.RecordingInterrupt;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.DeviceStatus;
import io.aether.virtio.MmioDriver;
import io.aether.virtio.MockDriver;
import io.aether.virtio.MockDriver.Buffer;
import io.aether.virtio.MockDriver.Used;
import io.aether.virtio.QueueFault;
import io.aether.virtio.VirtioFeatures;
import io.aether.virtio.VirtioMmioTransport;
import io.aether.virtio.Virtqueue;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VirtioBlockTest {

    static final int SECTORS = 64;

    @TempDir
    Path dir;
    Path image;
    byte[] original;
    final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    final MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x40000);
    final RecordingInterrupt interrupt = new RecordingInterrupt();
    VirtioBlock device;
    Virtqueue queue;

    @BeforeEach
    void setUp() throws IOException {
        image = dir.resolve("rootfs.ext4");
        original = new byte[SECTORS * 512];
        for (int i = 0; i < original.length; i++) original[i] = (byte) (i * 7 + i / 512);
        Files.write(image, original);
    }

    @AfterEach
    void tearDown() throws IOException {
        if (device != null) device.close();
        memory.close();
    }

    private void start(VirtioBlock.Options options) throws IOException {
        device = VirtioBlock.open(image, options);
        queue = driver.queue(16, VirtioFeatures.TRANSPORT);
        device.activate(memory, VirtioFeatures.TRANSPORT, List.of(queue), interrupt);
    }

    static byte[] header(int type, long sector) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putInt(type).putInt(0).putLong(sector).array();
    }

    private Used submit(Buffer... buffers) {
        driver.add(buffers);
        device.queueNotify(0);
        List<Used> used = driver.takeUsed();
        assertEquals(1, used.size());
        return used.getFirst();
    }

    private byte status(Buffer b) {
        return memory.readByte(b.address() + b.length() - 1);
    }

    @Test
    void readsSectorsIntoGuestMemory() throws IOException {
        start(VirtioBlock.Options.defaults());
        Buffer data = driver.writable(1024);
        Buffer st = driver.writable(1);
        Used used = submit(driver.readable(header(VirtioBlock.T_IN, 3)), data, st);
        assertEquals(1025, used.length());
        assertEquals(VirtioBlock.S_OK, status(st));
        assertArrayEquals(Arrays.copyOfRange(original, 3 * 512, 5 * 512), memory.read(data.address(), 1024));
        VirtioBlock.Counters c = device.counters();
        assertEquals(1, c.reads());
        assertEquals(1024, c.bytesRead());
        assertEquals(1, interrupt.usedCalls(0));
    }

    @Test
    void writesSectorsFromGuestMemory() throws IOException {
        start(VirtioBlock.Options.defaults());
        byte[] payload = new byte[512];
        Arrays.fill(payload, (byte) 0x5A);
        Buffer st = driver.writable(1);
        Used used = submit(driver.readable(header(VirtioBlock.T_OUT, SECTORS - 1)), driver.readable(payload), st);
        assertEquals(1, used.length());
        assertEquals(VirtioBlock.S_OK, status(st));
        byte[] now = Files.readAllBytes(image);
        assertArrayEquals(payload, Arrays.copyOfRange(now, (SECTORS - 1) * 512, SECTORS * 512));
        assertArrayEquals(Arrays.copyOf(original, (SECTORS - 1) * 512), Arrays.copyOf(now, (SECTORS - 1) * 512));
        assertEquals(512, device.counters().bytesWritten());
    }

    @Test
    void descriptorSplitDoesNotMatter() throws IOException {
        start(VirtioBlock.Options.defaults());
        // Header split in two, data over three buffers, status sharing the last data buffer.
        byte[] h = header(VirtioBlock.T_IN, 1);
        Buffer d1 = driver.writable(100);
        Buffer d2 = driver.writable(300);
        Buffer d3 = driver.writable(112 + 1);
        Used used = submit(driver.readable(Arrays.copyOf(h, 5)), driver.readable(Arrays.copyOfRange(h, 5, 16)), d1, d2, d3);
        assertEquals(513, used.length());
        byte[] got = new byte[512];
        System.arraycopy(memory.read(d1.address(), 100), 0, got, 0, 100);
        System.arraycopy(memory.read(d2.address(), 300), 0, got, 100, 300);
        System.arraycopy(memory.read(d3.address(), 112), 0, got, 400, 112);
        assertArrayEquals(Arrays.copyOfRange(original, 512, 1024), got);
        assertEquals(VirtioBlock.S_OK, status(d3));

        // OUT with header and data in one buffer.
        byte[] both = new byte[16 + 512];
        System.arraycopy(header(VirtioBlock.T_OUT, 0), 0, both, 0, 16);
        Arrays.fill(both, 16, both.length, (byte) 1);
        Buffer st = driver.writable(1);
        submit(driver.readable(both), st);
        assertEquals(VirtioBlock.S_OK, status(st));
        assertEquals(1, Files.readAllBytes(image)[0]);
    }

    @Test
    void flushAndGetId() throws IOException {
        start(VirtioBlock.Options.defaults());
        Buffer st = driver.writable(1);
        assertEquals(1, submit(driver.readable(header(VirtioBlock.T_FLUSH, 0)), st).length());
        assertEquals(VirtioBlock.S_OK, status(st));
        assertEquals(1, device.counters().flushes());

        Buffer id = driver.writable(20);
        Buffer st2 = driver.writable(1);
        assertEquals(21, submit(driver.readable(header(VirtioBlock.T_GET_ID, 0)), id, st2).length());
        byte[] expected = Arrays.copyOf("rootfs.ext4".getBytes(StandardCharsets.US_ASCII), 20);
        assertArrayEquals(expected, memory.read(id.address(), 20));
        assertEquals(VirtioBlock.S_OK, status(st2));
    }

    @Test
    void idDerivationKeepsAsciiAndTruncates() {
        assertEquals("a_b.img", VirtioBlock.idFromFileName(Path.of("/x/a\u00e9b.img")));
        assertEquals("012345678901234567890".substring(0, 20), VirtioBlock.idFromFileName(Path.of("012345678901234567890.raw")));
    }

    @Test
    void configAndFeatures() throws IOException {
        Files.write(image, new byte[1000]); // a trailing partial sector is not visible
        device = VirtioBlock.open(image, new VirtioBlock.Options(true, "disk0", 128));
        assertEquals(1, device.capacity());
        byte[] config = new byte[24];
        device.readConfig(0, config);
        ByteBuffer c = ByteBuffer.wrap(config).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, c.getLong(0));
        assertEquals(126, c.getInt(12));
        assertEquals(512, c.getInt(20));
        assertEquals(VirtioBlock.F_SEG_MAX | VirtioBlock.F_BLK_SIZE | VirtioBlock.F_FLUSH | VirtioBlock.F_RO, device.deviceFeatures());
        assertEquals(128, device.queueMaxSize(0));
    }

    @Test
    void readOnlyDiskRefusesWritesAndChangesNothing() throws IOException {
        start(VirtioBlock.Options.defaults().withReadOnly(true));
        Buffer st = driver.writable(1);
        submit(driver.readable(header(VirtioBlock.T_OUT, 0)), driver.readable(new byte[512]), st);
        assertEquals(VirtioBlock.S_IOERR, status(st));
        assertArrayEquals(original, Files.readAllBytes(image));
        assertEquals(1, device.counters().faults());
        assertEquals(0, device.counters().writes());
    }

    @Test
    void badRequestsAnswerIoErrorAndTouchNothing() throws IOException {
        start(VirtioBlock.Options.defaults());
        record Bad(String what, Buffer[] buffers) {
        }
        Buffer st = driver.writable(1);
        List<Bad> bad = List.of(
                new Bad("sector beyond capacity", new Buffer[] {driver.readable(header(VirtioBlock.T_IN, SECTORS)), driver.writable(512), st}),
                new Bad("range past the end", new Buffer[] {driver.readable(header(VirtioBlock.T_OUT, SECTORS - 1)), driver.readable(new byte[1024]), st}),
                new Bad("sector overflow", new Buffer[] {driver.readable(header(VirtioBlock.T_IN, Long.MAX_VALUE / 256)), driver.writable(512), st}),
                new Bad("sector huge", new Buffer[] {driver.readable(header(VirtioBlock.T_IN, -1)), driver.writable(512), st}),
                new Bad("partial sector", new Buffer[] {driver.readable(header(VirtioBlock.T_IN, 0)), driver.writable(100), st}),
                new Bad("short header", new Buffer[] {driver.readable(new byte[15]), st}),
                new Bad("IN with readable data", new Buffer[] {driver.readable(header(VirtioBlock.T_IN, 0)), driver.readable(new byte[512]), st}),
                new Bad("OUT with writable data", new Buffer[] {driver.readable(header(VirtioBlock.T_OUT, 0)), driver.writable(512), st}),
                new Bad("FLUSH with data", new Buffer[] {driver.readable(header(VirtioBlock.T_FLUSH, 0)), driver.writable(512), st}),
                new Bad("GET_ID without room", new Buffer[] {driver.readable(header(VirtioBlock.T_GET_ID, 0)), st}));
        for (Bad b : bad) {
            memory.writeByte(st.address(), (byte) 0x7F);
            Used used = submit(b.buffers());
            assertEquals(VirtioBlock.S_IOERR, status(st), b.what());
            assertTrue(used.length() <= 1, b.what());
        }
        assertArrayEquals(original, Files.readAllBytes(image));
        assertEquals(bad.size(), device.counters().faults());
        assertEquals(0, device.counters().reads() + device.counters().writes());
    }

    @Test
    void unknownTypesAreUnsupported() throws IOException {
        start(VirtioBlock.Options.defaults());
        Buffer st = driver.writable(1);
        submit(driver.readable(header(11, 0)), st); // DISCARD: not offered
        assertEquals(VirtioBlock.S_UNSUPP, status(st));
        assertEquals(1, device.counters().unsupported());
    }

    @Test
    void aRequestWithoutAWritableStatusIsCompletedWithNothing() throws IOException {
        start(VirtioBlock.Options.defaults());
        // Status descriptor missing.
        assertEquals(0, submit(driver.readable(header(VirtioBlock.T_IN, 0))).length());
        // Status "descriptor" read-only: the chain has no writable byte at all.
        assertEquals(0, submit(driver.readable(header(VirtioBlock.T_FLUSH, 0)), driver.readable(new byte[1])).length());
        assertEquals(2, device.counters().faults());
        assertEquals(0, device.counters().flushes());
        // Still usable.
        Buffer st = driver.writable(1);
        submit(driver.readable(header(VirtioBlock.T_FLUSH, 0)), st);
        assertEquals(VirtioBlock.S_OK, status(st));
    }

    @Test
    void hostileChainsNeverReachTheDevice() throws IOException {
        start(VirtioBlock.Options.defaults());
        Buffer st = driver.writable(1);
        // Data buffer outside guest memory.
        assertEquals(0, submit(driver.readable(header(VirtioBlock.T_IN, 0)), Buffer.writable(1 << 20, 512), st).length());
        // Status before data: a readable descriptor after a writable one.
        assertEquals(0, submit(st, driver.readable(header(VirtioBlock.T_IN, 0))).length());
        assertEquals(1, queue.counters().faults(QueueFault.OUTSIDE_MEMORY));
        assertEquals(1, queue.counters().faults(QueueFault.READABLE_AFTER_WRITABLE));
        assertEquals(0, device.counters().faults() + device.counters().reads());
    }

    @Test
    void optionsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new VirtioBlock.Options(false, "x".repeat(21), 256));
        assertThrows(IllegalArgumentException.class, () -> new VirtioBlock.Options(false, "caf\u00e9", 256));
        assertThrows(IllegalArgumentException.class, () -> new VirtioBlock.Options(false, null, 100));
        IOException e = assertThrows(IOException.class, () -> VirtioBlock.open(dir.resolve("missing.img"), VirtioBlock.Options.defaults()));
        assertTrue(e.getMessage().contains("missing.img"), e.getMessage());
    }

    @Test
    void servesRequestsThroughTheMmioTransport() throws IOException {
        device = VirtioBlock.open(image, VirtioBlock.Options.defaults());
        LineRecorder irq = new LineRecorder();
        VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, irq);
        MmioDriver mmio = new MmioDriver(transport);
        assertEquals(2, mmio.read(MmioDriver.DEVICE_ID));
        long offered = mmio.deviceFeatures();
        assertTrue(VirtioFeatures.has(offered, VirtioFeatures.VERSION_1 | VirtioBlock.F_FLUSH));
        int status = mmio.start(offered, driver);
        assertEquals(DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK | DeviceStatus.DRIVER_OK, status);
        assertEquals(SECTORS, ByteBuffer.wrap(mmio.readConfig(0, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong());

        Buffer data = driver.writable(512);
        Buffer st = driver.writable(1);
        driver.add(driver.readable(header(VirtioBlock.T_IN, 0)), data, st);
        mmio.notifyQueue(0);
        assertTrue(irq.high());
        assertEquals(VirtioMmioTransport.INTERRUPT_USED_BUFFER, mmio.acknowledgeInterrupt());
        assertEquals(false, irq.high());
        assertEquals(List.of(new Used(0, 513)), driver.takeUsed());
        assertArrayEquals(Arrays.copyOf(original, 512), memory.read(data.address(), 512));
        assertEquals(VirtioBlock.S_OK, status(st));
    }
}
