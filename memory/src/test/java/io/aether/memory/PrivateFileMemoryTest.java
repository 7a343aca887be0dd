package io.aether.memory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A snapshot's memory file mapped as guest memory: its bytes seen in place, the guest's writes kept out of it. */
@Timeout(30)
class PrivateFileMemoryTest {

    private static final int PAGE = (int) RegionSpec.PAGE_SIZE;

    @TempDir
    Path dir;

    @Test
    void eachRegionSeesItsPartOfTheFileAndWritesNeverReachIt() throws Exception {
        byte[] file = new byte[6 * PAGE];
        for (int i = 0; i < file.length; i++) file[i] = (byte) (i / PAGE + 1); // page n holds n + 1
        Path path = Files.write(dir.resolve("memory"), file);
        // Given out of order: the file follows guest-physical order, region at 0 first.
        try (GuestMemory memory = GuestMemory.privateFile(List.of(RegionSpec.ram(0x100000, 2 * PAGE), RegionSpec.ram(0, 4 * PAGE)), path)) {
            assertEquals(1, memory.readByte(0));
            assertEquals(4, memory.readByte(3 * PAGE + 17));
            assertEquals(5, memory.readByte(0x100000));
            assertEquals(6, memory.readByte(0x100000 + PAGE + PAGE - 1));
            memory.writeLong(8, -1);
            memory.fill(0x100000, PAGE, (byte) 0x77);
            assertEquals(-1, memory.readLong(8));
            assertEquals(0x77, memory.readByte(0x100000 + 100));
        }
        assertArrayEquals(file, Files.readAllBytes(path), "copy on write: the file is as it was");
    }

    @Test
    void aFileOfAnotherSizeIsRefusedNamingIt() throws Exception {
        Path path = Files.write(dir.resolve("memory"), new byte[3 * PAGE]);
        var e = assertThrows(IllegalArgumentException.class, () -> GuestMemory.privateFile(List.of(RegionSpec.ram(0, 4 * PAGE)), path));
        assertEquals(path + ": 12288 bytes, but the guest's memory is 16384 bytes", e.getMessage());
        Path missing = dir.resolve("absent");
        var m = assertThrows(IllegalArgumentException.class, () -> GuestMemory.privateFile(List.of(RegionSpec.ram(0, 4 * PAGE)), missing));
        assertEquals(missing + ": cannot read: " + missing, m.getMessage());
    }

    @Test
    void aReadOnlyFileIsStillMappedWritableForTheGuest() throws Exception {
        byte[] file = new byte[2 * PAGE];
        Arrays.fill(file, (byte) 9);
        Path path = Files.write(dir.resolve("memory"), file);
        path.toFile().setWritable(false);
        try (GuestMemory memory = GuestMemory.privateFile(List.of(RegionSpec.ram(0, 2 * PAGE)), path)) {
            memory.writeInt(0, 0x01020304);
            assertEquals(0x01020304, memory.readInt(0));
            assertEquals(9, memory.readByte(PAGE));
        }
        assertArrayEquals(file, Files.readAllBytes(path));
    }
}
