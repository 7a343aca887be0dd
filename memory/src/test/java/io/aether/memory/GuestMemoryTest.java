package io.aether.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A bounds bug can make a range walk spin: the timeout runs the test in its own thread so that it still ends. */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GuestMemoryTest {

    private static final long PAGE = RegionSpec.PAGE_SIZE;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(
            RegionSpec.ram(0, 16 * PAGE),
            RegionSpec.ram(16 * PAGE, 16 * PAGE),
            new RegionSpec(64 * PAGE, 4 * PAGE, true)));

    @AfterEach
    void close() {
        memory.close();
    }

    @Test
    void valuesAreLittleEndian() {
        memory.writeInt(0x100, 0x11223344);
        assertEquals(0x44, memory.readByte(0x100));
        assertEquals(0x3344, memory.readShort(0x100));
        memory.writeLong(0x200, -2);
        assertEquals(-2, memory.readLong(0x200));
    }

    @Test
    void copiesCrossAdjacentRegions() {
        byte[] data = new byte[64];
        for (int i = 0; i < data.length; i++) data[i] = (byte) i;
        long gpa = 16 * PAGE - 32;
        memory.write(gpa, data);
        assertArrayEquals(data, memory.read(gpa, 64));
        memory.writeLong(16 * PAGE - 4, 0x0102030405060708L);
        assertEquals(0x0102030405060708L, memory.readLong(16 * PAGE - 4));
    }

    @Test
    void accessesOutsideRamFailAndChangeNothing() {
        assertThrows(GuestMemoryException.class, () -> memory.readInt(32 * PAGE));
        assertThrows(GuestMemoryException.class, () -> memory.readInt(32 * PAGE - 2));
        assertThrows(GuestMemoryException.class, () -> memory.read(-1, 4));
        assertThrows(GuestMemoryException.class, () -> memory.slice(Long.MAX_VALUE - 2, 16));
        assertThrows(GuestMemoryException.class, () -> memory.read(0, Integer.MAX_VALUE));
        memory.writeInt(32 * PAGE - 8, 7);
        byte[] big = new byte[16];
        assertThrows(GuestMemoryException.class, () -> memory.write(32 * PAGE - 8, big));
        assertEquals(7, memory.readInt(32 * PAGE - 8), "a refused write must not write its first part");
        assertFalse(memory.contains(32 * PAGE, 1));
        assertTrue(memory.contains(0, 32 * PAGE));
    }

    @Test
    void readOnlyRegionsRefuseWrites() {
        assertEquals(0, memory.readInt(64 * PAGE));
        assertThrows(GuestMemoryException.class, () -> memory.writeInt(64 * PAGE, 1));
        assertThrows(GuestMemoryException.class, () -> memory.sliceForWrite(64 * PAGE, 8));
        memory.regions().get(2).host().set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 9);
        assertEquals(9, memory.readByte(64 * PAGE), "the monitor loads read-only regions through the host mapping");
    }

    @Test
    void ringIndexAccessesMustBeAligned() {
        memory.writeShortRelease(0x40, (short) 5);
        assertEquals(5, memory.readShortAcquire(0x40));
        assertThrows(GuestMemoryException.class, () -> memory.readShortAcquire(0x41));
    }

    @Test
    void dirtyLogRecordsMonitorWritesByPage() {
        memory.writeInt(0, 1);
        memory.dirtyLog().enable();
        memory.writeInt(3 * PAGE + 10, 1);
        memory.write(16 * PAGE - 2, new byte[4]);
        long[] first = memory.dirtyLog().take(0);
        long[] second = memory.dirtyLog().take(1);
        assertEquals(1L << 3 | 1L << 15, first[0]);
        assertEquals(1L, second[0]);
        assertEquals(0, memory.dirtyLog().take(0)[0], "take clears the bitmap");
    }

    @Test
    void noAccessEscapesGuestMemory() {
        Property.forAll(Gen.longs(-8192, 70 * 4096), Gen.ints(0, 3 * 4096)).tries(300).check((gpa, length) -> {
            boolean inside = memory.contains(gpa, length);
            try {
                memory.read(gpa, length);
                assertTrue(inside);
            } catch (GuestMemoryException e) {
                assertFalse(inside);
            }
        });
    }

    @Test
    void overlappingRegionsAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> GuestMemory.anonymous(List.of(
                RegionSpec.ram(0, 4 * PAGE), RegionSpec.ram(2 * PAGE, 4 * PAGE))));
        assertTrue(e.getMessage().startsWith("guest memory regions overlap"));
    }
}
