package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelLoaderTest {

    static final LoadAddresses X86 = new LoadAddresses(0x10_0000, 0x2_0000, 0x1_0000);
    private static final long RAM = 64 * MIB;

    @TempDir
    Path dir;
    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, RAM)));

    @AfterEach
    void close() {
        memory.close();
    }

    private Path file(String name, byte[] data) throws IOException {
        return Files.write(dir.resolve(name), data);
    }

    private LoadedKernel load(Path kernel, Path initrd, String cmdline, BootMode mode) throws LoadException {
        return KernelLoader.load(memory, new LoadRequest(kernel, Optional.ofNullable(initrd), cmdline, mode, X86));
    }

    private String cmdlineAt(long address) {
        byte[] b = memory.read(address, 4096);
        int n = 0;
        while (b[n] != 0) n++;
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    @Test
    void bzImageBootsThroughThe64BitEntryWithItsHeader() throws Exception {
        byte[] image = TestImages.bzImage(TestImages.lz4Payload(TestImages.vmlinux(true)));
        byte[] initrd = TestImages.pattern(10_000, 4);
        LoadedKernel k = load(file("vmlinuz", image), file("initrd.img", initrd), "console=ttyS0 root=/dev/vda", BootMode.AUTO);
        assertEquals(KernelFormat.BZIMAGE, k.format());
        KernelEntry.Linux64 entry = assertInstanceOf(KernelEntry.Linux64.class, k.entry());
        assertEquals(0x10_0200, entry.address());
        assertArrayEquals(Arrays.copyOfRange(image, 0x1F1, 0x26C), entry.setupHeader());
        assertArrayEquals(Arrays.copyOfRange(image, 1024, image.length), memory.read(0x10_0000, image.length - 1024));
        assertEquals(0x110_0000, k.kernelEnd());
        assertEquals("console=ttyS0 root=/dev/vda", cmdlineAt(0x2_0000));
        assertEquals(0x2_0000, k.cmdlineAddress());
        assertEquals(27, k.cmdlineLength());
        assertEquals(10_000, k.initrdSize());
        assertEquals((RAM - 10_000) & -4096, k.initrdAddress(), "as high as possible, page-aligned");
        assertArrayEquals(initrd, memory.read(k.initrdAddress(), 10_000));
    }

    /**
     * A bzImage's protected-mode kernel goes from the file to guest memory: only its first
     * {@link KernelLoader#HEAD} bytes pass through the heap (Debian's 8 MiB kernel was read into
     * a byte array through a buffer and then copied: three copies). The bytes in guest memory are
     * the file's, from the end of its setup sectors.
     */
    @Test
    void aBzImagesKernelGoesToGuestMemoryWithoutACopyInTheHeap() throws Exception {
        int payload = 8 * (int) MIB;
        byte[] image = TestImages.bzImage(TestImages.pattern(payload, 7));
        Path path = file("vmlinuz", image);
        var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        LoadedKernel k = load(path, null, "quiet", BootMode.AUTO);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated < payload / 8, allocated + " bytes allocated in the heap to load a " + image.length + "-byte bzImage");
        assertEquals(KernelFormat.BZIMAGE, k.format());
        int setup = ((image[0x1F1] & 0xFF) + 1) * 512;
        assertArrayEquals(Arrays.copyOfRange(image, setup, image.length), memory.read(0x10_0000, image.length - setup));
        assertArrayEquals(Arrays.copyOfRange(image, 0x1F1, 0x26C), ((KernelEntry.Linux64) k.entry()).setupHeader());
    }

    @Test
    void aBzImageThatShrinksAfterItsHeaderWasReadIsRefused() throws Exception {
        byte[] image = TestImages.bzImage(TestImages.pattern(64 * 1024, 8));
        // The header says what the whole file said; the file now ends 100 bytes short of it.
        byte[] head = Arrays.copyOf(image, KernelLoader.HEAD);
        Path shorter = file("vmlinuz", Arrays.copyOf(image, image.length - 100));
        BzImage bz = BzImage.parseHead(shorter.toString(), head, image.length);
        LoadException e = assertThrows(LoadException.class, () -> bz.load(memory, 0x10_0000, RAM, shorter));
        assertEquals(shorter + ": file shrank to " + (image.length - 100) + " bytes while it was read", e.getMessage());
    }

    @Test
    void bzImageBootsThroughPvhByExtractingItsVmlinux() throws Exception {
        byte[] vmlinux = TestImages.vmlinux(true);
        LoadedKernel k = load(file("vmlinuz", TestImages.bzImage(TestImages.lz4Payload(vmlinux))), null, "quiet", BootMode.PVH);
        assertEquals(KernelFormat.BZIMAGE, k.format());
        assertEquals(new KernelEntry.Pvh(0x100_0040), k.entry());
        assertArrayEquals(TestImages.pattern(0x3000, 1), memory.read(0x100_0000, 0x3000), "the ELF's segments, not the bzImage");
        assertEquals(0x100_8000, k.kernelEnd());
        assertEquals(0, k.initrdAddress());
        assertEquals(0, k.initrdSize());
    }

    @Test
    void elfWithPvhNoteBootsThroughPvhByDefault() throws Exception {
        LoadedKernel k = load(file("vmlinux", TestImages.vmlinux(true)), null, "", BootMode.AUTO);
        assertEquals(KernelFormat.ELF, k.format());
        assertEquals(new KernelEntry.Pvh(0x100_0040), k.entry());
        assertEquals("", cmdlineAt(0x2_0000));
    }

    @Test
    void theVmlinuxInsideABzImageIsExtractedAsIs() throws Exception {
        byte[] vmlinux = TestImages.vmlinux(true);
        assertArrayEquals(vmlinux, KernelLoader.extractVmlinux(file("vmlinuz", TestImages.bzImage(TestImages.lz4Payload(vmlinux)))));
        LoadException e = assertThrows(LoadException.class, () -> KernelLoader.extractVmlinux(file("vmlinux", vmlinux)));
        assertTrue(e.getMessage().contains("not a bzImage"), e.getMessage());
    }

    @Test
    void elfWithoutPvhNoteOrForcedTo64BitGetsTheLinuxEntry() throws Exception {
        for (var c : List.of(new Object[] {false, BootMode.AUTO}, new Object[] {true, BootMode.LINUX_64})) {
            LoadedKernel k = load(file("vmlinux", TestImages.vmlinux((boolean) c[0])), null, "", (BootMode) c[1]);
            KernelEntry.Linux64 entry = assertInstanceOf(KernelEntry.Linux64.class, k.entry());
            assertEquals(0x100_0000, entry.address());
            assertEquals(0, entry.setupHeader().length, "an ELF kernel gets a fresh header from the platform");
        }
    }

    @Test
    void pvhNeedsTheNote() throws Exception {
        Path vmlinux = file("vmlinux", TestImages.vmlinux(false));
        LoadException e = assertThrows(LoadException.class, () -> load(vmlinux, null, "", BootMode.PVH));
        assertEquals(vmlinux + ": no PVH entry: the kernel has no XEN_ELFNOTE_PHYS32_ENTRY note (built without CONFIG_PVH?)", e.getMessage());
    }

    @Test
    void initrdStaysBelowInitrdAddrMaxAndAboveTheKernel() throws Exception {
        byte[] image = TestImages.bzImage(1, TestImages.gzip(new byte[100]), b -> b.putInt(0x22C, 0x200_0000 - 1));
        LoadedKernel k = load(file("vmlinuz", image), file("initrd", new byte[5000]), "", BootMode.AUTO);
        assertEquals(0x200_0000 - 4096 * 2, k.initrdAddress(), "ends at or below initrd_addr_max");
        Path tooBig = dir.resolve("big");
        try (var raf = new java.io.RandomAccessFile(tooBig.toFile(), "rw")) {
            raf.setLength(RAM - 0x110_0000 + 4096); // sparse: nothing is read before placement fails
        }
        LoadException e = assertThrows(LoadException.class, () -> load(file("vmlinuz", TestImages.bzImage(new byte[16])), tooBig, "", BootMode.AUTO));
        assertTrue(e.getMessage().startsWith(tooBig + ": the "), e.getMessage());
        assertTrue(e.getMessage().contains("does not fit between the kernel's end 0x1100000 and 0x4000000"), e.getMessage());
    }

    @Test
    void initrdPlacementArithmetic() throws Exception {
        assertEquals(0x3FF_F000, Initrd.place("i", 1, 0x110_0000, 0x400_0000, 0x7FFF_FFFF));
        assertEquals(0x3FF_F000, Initrd.place("i", 4096, 0x110_0000, 0x400_0000, 0x7FFF_FFFF));
        assertEquals(0x3FF_E000, Initrd.place("i", 4097, 0x110_0000, 0x400_0000, 0x7FFF_FFFF));
        assertEquals(0x110_0000, Initrd.place("i", 0x400_0000 - 0x110_0000, 0x110_0000, 0x400_0000, 0x7FFF_FFFF), "exactly fits");
        assertEquals(0x7FFF_F000L, Initrd.place("i", 4096, 0x110_0000, 0xC000_0000L, 0x7FFF_FFFF), "initrd_addr_max is inclusive");
        assertEquals(0xFFFF_F000L, Initrd.place("i", 4096, 0x110_0000, 0x2_0000_0000L, 0xFFFF_FFFF_FFFFL), "never above 4 GiB");
        assertThrows(LoadException.class, () -> Initrd.place("i", 0x400_0000 - 0x110_0000 + 1, 0x110_0000, 0x400_0000, 0x7FFF_FFFF));
        assertThrows(LoadException.class, () -> Initrd.place("i", Long.MAX_VALUE, 0x110_0000, 0x400_0000, 0x7FFF_FFFF));
        assertThrows(LoadException.class, () -> Initrd.place("i", 4096, 0x3FF_F001, 0x400_0000, 0x7FFF_FFFF), "kernel end rounds up");
    }

    @Test
    void commandLineIsCheckedAgainstTheKernelsLimit() throws Exception {
        Path kernel = file("vmlinuz", TestImages.bzImage(1, TestImages.gzip(new byte[10]), b -> b.putInt(0x238, 16)));
        load(kernel, null, "a".repeat(16), BootMode.AUTO);
        assertEquals("a".repeat(16), cmdlineAt(0x2_0000));
        LoadException e = assertThrows(LoadException.class, () -> load(kernel, null, "a".repeat(17), BootMode.AUTO));
        assertEquals("command line: 17 bytes is longer than the kernel accepts (16 bytes, the cmdline_size in " + kernel + "'s setup header)",
                e.getMessage());
        e = assertThrows(LoadException.class, () -> load(kernel, null, "a\0b", BootMode.AUTO));
        assertEquals("command line: contains a NUL character at byte 1", e.getMessage());
        Path elf = file("vmlinux", TestImages.vmlinux(true));
        load(elf, null, "x".repeat(2047), BootMode.AUTO);
        e = assertThrows(LoadException.class, () -> load(elf, null, "x".repeat(2048), BootMode.AUTO), "2048 is COMMAND_LINE_SIZE with the NUL");
        assertEquals("command line: 2048 bytes is longer than the kernel accepts (2047 bytes, Linux's COMMAND_LINE_SIZE)", e.getMessage());
        Path generous = file("vmlinuz", TestImages.bzImage(1, TestImages.gzip(new byte[10]), b -> b.putInt(0x238, -1)));
        e = assertThrows(LoadException.class, () -> load(generous, null, "y".repeat(0x1_0000), BootMode.AUTO), "capped by the platform's room");
        assertTrue(e.getMessage().startsWith("command line: 65536 bytes is longer than the platform's room for it ("), e.getMessage());
    }

    @Test
    void commandLineIsWrittenAsUtf8WithItsNul() throws Exception {
        memory.fill(0x2_0000, 64, (byte) 'Z');
        LoadedKernel k = load(file("vmlinux", TestImages.vmlinux(true)), null, "motd=\u00e9t\u00e9", BootMode.AUTO);
        assertEquals(10, k.cmdlineLength(), "UTF-8 bytes, not characters");
        assertEquals("motd=\u00e9t\u00e9", cmdlineAt(0x2_0000));
        assertEquals(0, memory.readByte(0x2_0000 + 10));
    }

    @Test
    void filesThatAreNotKernelsAreNamed() throws Exception {
        Path text = file("notes.txt", "hello, this is not a kernel".repeat(40).getBytes(StandardCharsets.US_ASCII));
        LoadException e = assertThrows(LoadException.class, () -> load(text, null, "", BootMode.AUTO));
        assertEquals(text + ": not a Linux kernel: neither a bzImage (0xAA55 and \"HdrS\" at 0x1FE) nor an ELF file", e.getMessage());
        Path empty = file("empty", new byte[0]);
        assertEquals(empty + ": file is empty", assertThrows(LoadException.class, () -> load(empty, null, "", BootMode.AUTO)).getMessage());
        Path missing = dir.resolve("missing");
        assertTrue(assertThrows(LoadException.class, () -> load(missing, null, "", BootMode.AUTO)).getMessage().startsWith(missing + ": "));
        assertEquals(dir + ": not a regular file", assertThrows(LoadException.class, () -> load(dir, null, "", BootMode.AUTO)).getMessage());
        Path kernel = file("vmlinux", TestImages.vmlinux(true));
        assertTrue(assertThrows(LoadException.class, () -> load(kernel, dir, "", BootMode.AUTO)).getMessage().startsWith(dir + ": "));
        assertTrue(assertThrows(LoadException.class, () -> load(kernel, empty, "", BootMode.AUTO)).getMessage().startsWith(empty + ": "));
    }

    @Test
    void oversizedKernelFilesAreRefusedBeforeReading() throws Exception {
        Path kernel = file("vmlinux", TestImages.vmlinux(true));
        LoadException e = assertThrows(LoadException.class, () ->
                KernelLoader.load(memory, new LoadRequest(kernel, Optional.empty(), "", BootMode.AUTO, X86), 1000));
        assertTrue(e.getMessage().contains("larger than the 1000-byte limit"), e.getMessage());
    }

    @Test
    void kernelsTooBigForGuestRamAreRefused() throws Exception {
        try (GuestMemory small = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 8 * MIB)))) {
            Path bz = file("vmlinuz", TestImages.bzImage(new byte[64]));
            LoadException e = assertThrows(LoadException.class, () ->
                    KernelLoader.load(small, new LoadRequest(bz, Optional.empty(), "", BootMode.AUTO, X86)));
            assertTrue(e.getMessage().contains("give the guest more memory"), e.getMessage());
            Path elf = file("vmlinux", TestImages.vmlinux(true));
            e = assertThrows(LoadException.class, () ->
                    KernelLoader.load(small, new LoadRequest(elf, Optional.empty(), "", BootMode.AUTO, X86)));
            assertTrue(e.getMessage().contains("outside guest RAM"), e.getMessage());
        }
    }

    @Test
    void loadAddressesMustBeConsistent() {
        assertThrows(IllegalArgumentException.class, () -> new LoadAddresses(0x10_0001, 0x2_0000, 0x1000));
        assertThrows(IllegalArgumentException.class, () -> new LoadAddresses(0x10_0000, 0xF_F000, 0x2000), "command line overlaps the kernel");
        assertThrows(IllegalArgumentException.class, () -> new LoadAddresses(0x10_0000, 0x2_0000, 0));
    }
}
