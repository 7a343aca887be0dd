package io.aether.virtio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz target for the virtio-mmio register file (virtio 1.2, 4.2.2) over the
 * loopback device: up to 64 register accesses read from the input (any offset, size and value),
 * with a valid chain waiting in queue 0's memory so that a driver start the fuzzer finds reaches
 * the device. Nothing escapes; the identification registers never change; the interrupt line
 * follows InterruptStatus; the status holds only defined bits and a write of 0 resets it; the
 * counters add up.
 */
@Timeout(120)
class VirtioMmioTransportCoverageFuzzTest {

    static final int[] REGISTERS = {0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044, 0x050,
        0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0, 0x0fc, 0x100, 0x104};
    static final int[] SIZES = {4, 1, 2, 8};
    static final long QUEUE0 = 0x1000;

    @Test
    void registers() {
        Fuzzer.target(getClass(), "registers").maxLength(1024).run();
    }

    static List<QueueCounters> registers(FuzzInput in) {
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x40000)))) {
            List<Boolean> line = new ArrayList<>();
            LoopbackDevice device = new LoopbackDevice();
            VirtioMmioTransport transport = new VirtioMmioTransport(device, memory, line::add);
            MockDriver q0 = new MockDriver(memory, 16, QUEUE0, 0x4000);
            q0.add(q0.readable(new byte[] {1, 2, 3}), q0.writable(3));
            for (int access = 0; access < 64 && in.remaining() > 0; access++) {
                boolean write = in.consumeBoolean();
                int offset = in.consumeBoolean() ? REGISTERS[in.consumeInt(0, REGISTERS.length - 1)] : in.consumeInt(0, 0x1ff);
                byte[] data = new byte[SIZES[in.consumeInt(0, SIZES.length - 1)]];
                if (write) {
                    long value = in.consumeLong();
                    for (int i = 0; i < data.length; i++) data[i] = (byte) (value >>> (8 * i));
                    transport.write(offset, data);
                    if (offset == VirtioMmioTransport.STATUS && data.length == 4 && value << 32 == 0) {
                        assertEquals(0, transport.status(), "writing 0 to Status resets the device");
                    }
                } else {
                    transport.read(offset, data);
                }
                assertEquals(transport.interruptStatus() != 0, !line.isEmpty() && line.getLast(), "the line follows InterruptStatus");
                assertEquals(0, transport.status() & ~0xCF, "only defined status bits");
            }
            assertEquals(VirtioMmioTransport.MAGIC_VALUE, read(transport, VirtioMmioTransport.MAGIC));
            assertEquals(2, read(transport, VirtioMmioTransport.VERSION_REG));
            assertEquals(device.deviceType(), read(transport, VirtioMmioTransport.DEVICE_ID));
            VirtioMmioTransport.Counters c = transport.counters();
            assertEquals(0, c.deviceErrors());
            for (QueueCounters qc : transport.queueCounters()) {
                long perChain = qc.faults().entrySet().stream().filter(e -> e.getKey().perChain()).mapToLong(e -> e.getValue()).sum();
                assertEquals(qc.taken(), qc.chains() + perChain);
                assertTrue(qc.used() <= qc.taken());
            }
            return transport.queueCounters();
        }
    }

    private static int read(VirtioMmioTransport t, int offset) {
        byte[] b = new byte[4];
        t.read(offset, b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt();
    }

    /** A driver start as virtio_mmio makes it, queue 0 at {@link #QUEUE0} as MockDriver lays it out, then a notify and an acknowledge. */
    static byte[] seed() {
        MockDriverLayout q = new MockDriverLayout(QUEUE0, 16);
        int[][] writes = {
            {VirtioMmioTransport.STATUS, 0}, {VirtioMmioTransport.STATUS, 1}, {VirtioMmioTransport.STATUS, 3},
            {VirtioMmioTransport.DRIVER_FEATURES_SEL, 1}, {VirtioMmioTransport.DRIVER_FEATURES, 1},
            {VirtioMmioTransport.DRIVER_FEATURES_SEL, 0}, {VirtioMmioTransport.DRIVER_FEATURES, 0},
            {VirtioMmioTransport.STATUS, 11}, {VirtioMmioTransport.QUEUE_SEL, 0}, {VirtioMmioTransport.QUEUE_NUM, 16},
            {VirtioMmioTransport.QUEUE_DESC_LOW, (int) q.desc}, {VirtioMmioTransport.QUEUE_DRIVER_LOW, (int) q.avail},
            {VirtioMmioTransport.QUEUE_DEVICE_LOW, (int) q.used}, {VirtioMmioTransport.QUEUE_READY, 1},
            {VirtioMmioTransport.STATUS, 15}, {VirtioMmioTransport.QUEUE_NOTIFY, 0}, {VirtioMmioTransport.INTERRUPT_ACK, 1},
        };
        ByteBuffer b = ByteBuffer.allocate(writes.length * 12 + 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int[] w : writes) {
            int register = Arrays.stream(REGISTERS).boxed().toList().indexOf(w[0]);
            b.put((byte) 1).put((byte) 1).put((byte) register).put((byte) 0).putLong(w[1]);
        }
        b.put((byte) 0).put((byte) 1).put((byte) 0).put((byte) 0); // read MagicValue
        return b.array();
    }

    /** Where MockDriver puts a queue's rings. */
    record MockDriverLayout(long desc, long avail, long used) {
        MockDriverLayout(long base, int size) {
            this(base, base + 16L * size, (base + 16L * size + 6 + 2L * size + 3) & -4L);
        }
    }

    @Test
    void theSeedStartsTheDeviceAndCompletesTheChain() {
        List<QueueCounters> queues = registers(new FuzzInput(seed()));
        assertEquals(1, queues.getFirst().chains());
        assertEquals(1, queues.getFirst().used());
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 0x40000)))) {
            MockDriver q0 = new MockDriver(memory, 16, QUEUE0, 0x4000);
            MockDriverLayout layout = new MockDriverLayout(QUEUE0, 16);
            assertEquals(List.of(q0.descTable(), q0.availRing(), q0.usedRing()), List.of(layout.desc(), layout.avail(), layout.used()));
        }
    }
}
