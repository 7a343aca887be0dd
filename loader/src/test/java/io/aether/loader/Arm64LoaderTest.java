package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Arm64LoaderTest {

    private static final long RAM_BASE = 0x4000_0000L;
    private static final long RAM = 16 * MIB;
    /** flags: little-endian (bit 0 clear), 4 KiB pages (bits 1-2 = 1), placement anywhere (bit 3). */
    private static final long FLAGS_4K_ANYWHERE = 0b1010;

    @TempDir
    Path dir;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(RAM_BASE, RAM)));

    @AfterEach
    void close() {
        memory.close();
    }

    /**
     * An Image of {@code length} bytes with the header of Documentation/arch/arm64/booting.rst, all
     * little-endian: code0 @0, code1 @4, text_offset @8, image_size @16, flags @24, res2-4 @32..55,
     * magic "ARM\x64" @56, res5 @60; a byte pattern after the header.
     */
    static byte[] image(long textOffset, long imageSize, long flags, int length) {
        ByteBuffer b = ByteBuffer.wrap(TestImages.pattern(length, 7)).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x1400_0010); // b #0x40: over the header, as the kernel's own code0 does
        b.putInt(4, 0);
        b.putLong(8, textOffset);
        b.putLong(16, imageSize);
        b.putLong(24, flags);
        b.putLong(32, 0).putLong(40, 0).putLong(48, 0);
        b.put(56, (byte) 'A').put(57, (byte) 'R').put(58, (byte) 'M').put(59, (byte) 0x64);
        b.putInt(60, 0);
        return b.array();
    }

    private Path file(String name, byte[] data) throws IOException {
        return Files.write(dir.resolve(name), data);
    }

    private Arm64Kernel load(byte[] kernel, byte[] initrd) throws Exception {
        return Arm64Loader.load(memory, file("Image", kernel), Optional.ofNullable(initrd == null ? null : file("initrd", initrd)), RAM_BASE);
    }

    private String refusal(byte[] kernel, byte[] initrd) {
        LoadException e = assertThrows(LoadException.class, () -> load(kernel, initrd));
        assertTrue(e.getMessage().startsWith(dir.toString()), e.getMessage());
        assertTrue(e.getMessage().indexOf('\n') < 0, "one line: " + e.getMessage());
        assertArrayEquals(new byte[(int) RAM], memory.read(RAM_BASE, (int) RAM), "nothing written on refusal");
        return e.getMessage();
    }

    /**
     * An uncompressed Image is read from the file into guest memory, not into the heap first:
     * Debian's arm64 kernel is 31 MiB, and a heap copy of it (two, while reading) raised the
     * monitor's peak memory by some 60 MiB. The thread's allocations while loading an 8 MiB Image
     * stay far below its size; the bytes in guest memory are the file's.
     */
    @Test
    void anUncompressedImageGoesToGuestMemoryWithoutACopyInTheHeap() throws Exception {
        int size = 8 * (int) MIB;
        byte[] kernel = image(0, size, FLAGS_4K_ANYWHERE, size);
        Path path = file("Image", kernel);
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        Arm64Kernel loaded = Arm64Loader.load(memory, path, Optional.empty(), RAM_BASE);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < size / 8, allocated + " bytes allocated in the heap to load a " + size + "-byte Image");
        assertEquals(RAM_BASE, loaded.entry());
        assertArrayEquals(kernel, memory.read(RAM_BASE, size));
    }

    @Test
    void aModernImageGoesToTheStartOfRamWithInitrdAndDeviceTreeAfterIt() throws Exception {
        // Linux 5.8+: text_offset 0. image_size 3 MiB + 5 bytes for a 100 000-byte file (bss follows).
        byte[] kernel = image(0, 3 * MIB + 5, FLAGS_4K_ANYWHERE, 100_000);
        byte[] initrd = TestImages.pattern(10_000, 3);
        Arm64Kernel k = load(kernel, initrd);
        assertEquals(0x4000_0000L, k.entry());
        assertEquals(0x4030_0005L, k.kernelEnd());
        assertEquals(4096, k.alignment());
        // The initrd starts on the first 4 KiB boundary after the kernel's image_size.
        assertEquals(0x4030_1000L, k.initrdAddress());
        assertEquals(10_000, k.initrdSize());
        assertEquals(RAM_BASE + RAM, k.ramEnd());
        assertArrayEquals(kernel, memory.read(0x4000_0000L, kernel.length));
        assertArrayEquals(initrd, memory.read(0x4030_1000L, initrd.length));

        byte[] dtb = TestImages.pattern(700, 9);
        long at = Arm64Loader.placeDeviceTree(memory, k, dtb);
        // 0x4030_1000 + 10 000 = 0x4030_3710, rounded up to 4 KiB.
        assertEquals(0x4030_4000L, at);
        assertArrayEquals(dtb, memory.read(at, dtb.length));
    }

    @Test
    void anOlderImageSitsTextOffsetAboveTheTwoMibBase() throws Exception {
        // Before 5.8: text_offset 0x80000; page size unspecified (flags 0) aligns to 64 KiB.
        byte[] kernel = image(0x8_0000, 0x10_0001, 0, 4096);
        Arm64Kernel k = load(kernel, null);
        assertEquals(0x4008_0000L, k.entry());
        assertEquals(0x4018_0001L, k.kernelEnd());
        assertEquals(0, k.initrdAddress());
        assertEquals(0x1_0000, k.alignment());
        assertArrayEquals(kernel, memory.read(0x4008_0000L, kernel.length));
        assertEquals(0x4019_0000L, Arm64Loader.placeDeviceTree(memory, k, new byte[64]));
    }

    @Test
    void theBaseIsRoundedUpToTwoMib() throws Exception {
        byte[] kernel = image(0, MIB, 0b110, 4096); // 64 KiB pages (bits 1-2 = 3)
        Arm64Kernel k = Arm64Loader.load(memory, file("Image", kernel), Optional.empty(), RAM_BASE + 0x1000);
        assertEquals(RAM_BASE + 2 * MIB, k.entry());
        assertEquals(0x1_0000, k.alignment());
    }

    @Test
    void aGzipCompressedImageIsUnpackedFirst() throws Exception {
        byte[] kernel = image(0, 2 * MIB, FLAGS_4K_ANYWHERE, 50_000);
        Arm64Kernel k = load(TestImages.gzip(kernel), null);
        assertArrayEquals(kernel, memory.read(k.entry(), kernel.length));
    }

    @Test
    void otherKernelsAreNamedNotLoaded() {
        assertTrue(refusal(TestImages.bzImage(TestImages.gzip(TestImages.vmlinux(true))), null)
                .endsWith("/Image: not an arm64 Image: this is an x86 bzImage"));
        assertTrue(refusal(TestImages.vmlinux(false), null).endsWith("not an arm64 Image: this is an ELF file (a vmlinux?): boot the Image instead"));
        byte[] noMagic = image(0, MIB, 0, 4096);
        noMagic[59] = 0x65;
        assertTrue(refusal(noMagic, null).endsWith("not an arm64 Image: no \"ARM\\x64\" magic at offset 56"));
        assertTrue(refusal(Arrays.copyOf(image(0, MIB, 0, 4096), 63), null).endsWith("truncated: 63 bytes cannot hold the 64-byte arm64 Image header"));
        // What is inside a gzip file is checked the same way.
        assertTrue(refusal(TestImages.gzip(new byte[63]), null).endsWith("truncated: 63 bytes cannot hold the 64-byte arm64 Image header"));
        assertTrue(refusal(TestImages.gzip(new byte[100]), null).endsWith("not an arm64 Image: no \"ARM\\x64\" magic at offset 56"));
    }

    @Test
    void hostileHeaderFieldsAreRefused() {
        assertTrue(refusal(image(0, MIB, 1, 4096), null).endsWith("a big-endian kernel (flags bit 0): the vCPUs start little-endian"));
        assertTrue(refusal(image(0, 0, 0, 4096), null).contains("image_size is 0"));
        assertTrue(refusal(image(0, 4095, 0, 4096), null).endsWith("image_size 0xfff is smaller than the 4096-byte file"));
        assertTrue(refusal(image(0x8_0001, MIB, 0, 4096), null).endsWith("text_offset 0x80001 is not a 4 KiB-aligned offset below 2 MiB"));
        assertTrue(refusal(image(2 * MIB, MIB, 0, 4096), null).contains("text_offset 0x200000 is not"));
        assertTrue(refusal(image(-4096L, MIB, 0, 4096), null).contains("text_offset 0xfffffffffffff000 is not"));
    }

    @Test
    void aKernelLargerThanRamIsRefusedWithoutOverflow() {
        // 16 MiB of RAM from 0x4000_0000: image_size 16 MiB fits exactly, one byte more does not.
        assertTrue(refusal(image(0, RAM + 1, 0, 4096), null)
                .endsWith("the kernel needs 0x1000001 bytes (image_size) from 0x40000000, guest RAM ends at 0x41000000: give the guest more memory"));
        assertTrue(refusal(image(0x8_0000, RAM, 0, 4096), null).contains("the kernel needs 0x1000000 bytes (image_size) from 0x40080000"));
        // start + image_size would wrap past 2^64 (and past 2^63 as a signed number).
        assertTrue(refusal(image(0, -1L, 0, 4096), null).contains("the kernel needs 0xffffffffffffffff bytes"));
        assertTrue(refusal(image(0, Long.MAX_VALUE, 0, 4096), null).contains("the kernel needs 0x7fffffffffffffff bytes"));
    }

    @Test
    void anInitrdThatDoesNotFitIsRefusedBeforeAnythingIsWritten() {
        String m = refusal(image(0, RAM - 8192, FLAGS_4K_ANYWHERE, 4096), new byte[8193]);
        assertTrue(m.endsWith("/initrd: the 8193-byte initrd does not fit between the kernel's end 0x40ffe000 and the end of RAM 0x41000000: "
                + "give the guest more memory"), m);
        assertTrue(refusal(image(0, RAM - 5, FLAGS_4K_ANYWHERE, 4096), new byte[1]).contains("kernel's end 0x41000000"));
        assertTrue(refusal(image(0, MIB, 0, 4096), new byte[0]).endsWith("/initrd: file is empty"));
    }

    @Test
    void theDeviceTreeIsBoundedAndMustFit() throws Exception {
        Arm64Kernel k = load(image(0, RAM - 8192, FLAGS_4K_ANYWHERE, 4096), null);
        assertEquals(RAM_BASE + RAM - 8192, Arm64Loader.placeDeviceTree(memory, k, new byte[8192]));
        LoadException e = assertThrows(LoadException.class, () -> Arm64Loader.placeDeviceTree(memory, k, new byte[8193]));
        assertEquals("device tree: its 8193 bytes do not fit between 0x40ffe000 and the end of RAM 0x41000000: give the guest more memory", e.getMessage());
        e = assertThrows(LoadException.class, () -> Arm64Loader.placeDeviceTree(memory, k, new byte[(2 << 20) + 1]));
        assertEquals("device tree: 2097153 bytes is not in 1..2097152 (arm64 Linux maps at most 2 MiB)", e.getMessage());
        assertThrows(LoadException.class, () -> Arm64Loader.placeDeviceTree(memory, k, new byte[0]));
    }

    @Test
    void decompressionAndFileSizeAreBounded() throws Exception {
        Path big = file("Image", image(0, 2 * MIB, 0, (int) MIB));
        LoadException e = assertThrows(LoadException.class, () -> Arm64Loader.load(memory, big, Optional.empty(), RAM_BASE, MIB - 1));
        assertTrue(e.getMessage().endsWith("1048576 bytes is larger than the 1048575-byte limit for a kernel"), e.getMessage());
        Path bomb = file("Image.gz", TestImages.gzip(image(0, 4 * MIB, 0, (int) (2 * MIB))));
        e = assertThrows(LoadException.class, () -> Arm64Loader.load(memory, bomb, Optional.empty(), RAM_BASE, MIB));
        assertTrue(e.getMessage().endsWith("gzip payload decompresses to more than the limit of 1048576 bytes"), e.getMessage());
    }

    record Mutation(int position, byte value) {
    }

    @Test
    void mutatedHeadersLoadOrFailCleanly() {
        byte[] base = image(0x8_0000, 8 * MIB, FLAGS_4K_ANYWHERE, 8192);
        Gen<Integer> position = Gen.ints(0, 63);
        Gen<Byte> value = Gen.oneOf(Gen.ints(Byte.MIN_VALUE, Byte.MAX_VALUE).map(Integer::byteValue), Gen.choose((byte) 0, (byte) 0xFF, (byte) 0x80));
        Property.forAll(Gen.lists(r -> new Mutation(position.next(r), value.next(r)), 1, 6)).tries(200).check(mutations -> {
            byte[] kernel = base.clone();
            for (Mutation m : mutations) kernel[m.position()] = m.value();
            try (GuestMemory ram = GuestMemory.anonymous(List.of(RegionSpec.ram(RAM_BASE, 16 * MIB)))) {
                Path path = file("fuzz", kernel);
                try {
                    Arm64Kernel k = Arm64Loader.load(ram, path, Optional.empty(), RAM_BASE);
                    assertTrue(k.entry() >= RAM_BASE && k.kernelEnd() <= RAM_BASE + 16 * MIB, k.toString());
                } catch (LoadException expected) {
                    assertTrue(expected.getMessage().startsWith(path + ": "), expected.getMessage());
                }
            }
        });
    }
}
