package io.aether.devices.rng;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.devices.LineRecorder;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.snapshot.Section;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateWriter;
import io.aether.virtio.MmioDriver;
import io.aether.virtio.MockDriver;
import io.aether.virtio.VirtioMmioTransport;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The entropy device has no state of its own: its transport's state restores it. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VirtioRngStateTest {

    private static final int MEMORY = 1 << 20;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, MEMORY)));
    private final MockDriver driver = new MockDriver(memory, 16, 0x1000, 0x60000);

    @AfterEach
    void close() {
        memory.close();
    }

    private static Section save(VirtioMmioTransport transport) throws Exception {
        StateWriter out = new StateWriter();
        transport.state().write(out);
        return StateFile.decode(StateFile.encode(List.of(out.toSection("rng.transport")))).getFirst();
    }

    @Test
    void aRestoredDeviceFillsTheNextRequestAsTheOriginalWould() throws Exception {
        VirtioRngTest.CountingSource source = new VirtioRngTest.CountingSource();
        VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioRng(source), memory, new LineRecorder());
        MmioDriver mmio = new MmioDriver(transport);
        mmio.start(mmio.deviceFeatures(), driver);
        for (int i = 0; i < 21; i++) { // past the 16-entry ring: the indices have wrapped
            driver.add(driver.writable(8));
            mmio.notifyQueue(0);
            driver.takeUsed();
            mmio.acknowledgeInterrupt();
        }
        Section saved = save(transport);
        driver.add(driver.writable(32));
        byte[] before = memory.read(0, MEMORY);
        int sourceAt = source.next;

        mmio.notifyQueue(0);
        byte[] after = memory.read(0, MEMORY);

        memory.write(0, before);
        VirtioRngTest.CountingSource same = new VirtioRngTest.CountingSource();
        same.next = sourceAt;
        VirtioMmioTransport restored = new VirtioMmioTransport(new VirtioRng(same), memory, new LineRecorder());
        restored.restore(VirtioMmioTransport.State.read(saved.reader()));
        new MmioDriver(restored).notifyQueue(0);
        assertArrayEquals(after, memory.read(0, MEMORY));
        assertEquals(22, driver.usedIdx());
    }

    @Test
    void aDeviceWithAnotherQueueSizeIsRefused() throws Exception {
        VirtioMmioTransport transport = new VirtioMmioTransport(new VirtioRng(new VirtioRngTest.CountingSource()), memory,
                new LineRecorder());
        new MmioDriver(transport).start(new MmioDriver(transport).deviceFeatures(), driver);
        VirtioMmioTransport.State state = VirtioMmioTransport.State.read(save(transport).reader());
        VirtioMmioTransport smaller = new VirtioMmioTransport(new VirtioRng(new VirtioRngTest.CountingSource(), 128), memory,
                new LineRecorder());
        assertEquals("queue 0: maxSize: 256 differs from the device's 128",
                assertThrows(IllegalArgumentException.class, () -> smaller.restore(state)).getMessage());
    }
}
