package io.aether.loader;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Initrds larger than a ByteBuffer can hold, and initrds that go wrong while they are read. */
@Timeout(120)
class InitrdTest {

    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    /** A sparse file of {@code size} bytes, zero but for {@code marks}: it takes no disk space. */
    private Path sparse(String name, long size, Map<Long, Byte> marks) throws IOException {
        Path file = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
            for (var mark : marks.entrySet()) {
                raf.seek(mark.getKey());
                raf.write(mark.getValue());
            }
        }
        return file;
    }

    /** A bzImage that lets its initrd go up to 4 GiB (initrd_addr_max 0xFFFFFFFF). */
    private Path kernelWithInitrdUpTo4GiB() throws IOException {
        return Files.write(dir.resolve("vmlinuz"), TestImages.bzImage(1, TestImages.gzip(new byte[100]), b -> b.putInt(0x22C, -1)));
    }

    @Test
    void anInitrdOver2GiBIsCopiedWhole() throws Exception {
        long size = 2 * GIB + 3 * 4096 + 123;
        Map<Long, Byte> marks = new LinkedHashMap<>();
        long[] offsets = {0, 1, Initrd.SLICE - 1, Initrd.SLICE, (1L << 31) - 1, 1L << 31, (1L << 31) + 1, size - 2, size - 1};
        for (int i = 0; i < offsets.length; i++) marks.put(offsets[i], (byte) (0x51 + 7 * i));
        Path initrd = sparse("initrd.img", size, marks);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 4 * GIB)))) {
            LoadedKernel k = KernelLoader.load(memory,
                    new LoadRequest(kernelWithInitrdUpTo4GiB(), Optional.of(initrd), "", BootMode.AUTO, KernelLoaderTest.X86));
            assertEquals(size, k.initrdSize());
            long expectedAddress = (4 * GIB - size) / 4096 * 4096;
            assertEquals(expectedAddress, k.initrdAddress(), "as high as possible under 4 GiB, page-aligned");
            for (var mark : marks.entrySet()) {
                assertEquals(mark.getValue(), memory.readByte(k.initrdAddress() + mark.getKey()), "byte " + mark.getKey());
            }
            assertArrayEquals(new byte[64], memory.read(k.initrdAddress() + (1L << 31) + 2, 64), "the zeros between the marks");
            assertEquals(0, memory.readByte(k.initrdAddress() + size), "nothing past the end");
        }
    }

    @Test
    void anInitrdTooBigForGuestMemoryIsOneLineNamingIt() throws Exception {
        Path initrd = sparse("huge.img", 5 * GIB, Map.of());
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 64L << 20)))) {
            LoadException e = assertThrows(LoadException.class, () -> KernelLoader.load(memory,
                    new LoadRequest(kernelWithInitrdUpTo4GiB(), Optional.of(initrd), "", BootMode.AUTO, KernelLoaderTest.X86)));
            assertEquals(initrd.toString(), e.source());
            assertTrue(e.getMessage().startsWith(initrd + ": the 5368709120-byte initrd does not fit"), e.getMessage());
            assertEquals(1, e.getMessage().lines().count());
        }
    }

    @Test
    void aFileShorterThanItsSizeOrAPlaceOutsideMemoryIsOneLineNamingTheFile() throws Exception {
        Path initrd = sparse("short.img", Initrd.SLICE + 10, Map.of());
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 256L << 20)))) {
            LoadException shrank = assertThrows(LoadException.class, () -> Initrd.read(memory, initrd, 0x100_0000, Initrd.SLICE + 20));
            assertEquals(initrd + ": file shrank to " + (Initrd.SLICE + 10) + " bytes while it was read", shrank.getMessage());
            LoadException outside = assertThrows(LoadException.class, () -> Initrd.read(memory, initrd, (256L << 20) - 4096, Initrd.SLICE + 10));
            assertTrue(outside.getMessage().startsWith(initrd + ": does not fit guest memory: outside guest memory"), outside.getMessage());
            assertEquals(1, outside.getMessage().lines().count());
        }
    }
}
