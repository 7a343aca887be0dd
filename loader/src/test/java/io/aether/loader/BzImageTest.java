package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class BzImageTest {

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 32 * MIB)));

    @AfterEach
    void close() {
        memory.close();
    }

    /** The source of a bzImage whose bytes are all in hand: never opened. */
    private static final Path NOT_READ = Path.of("/nonexistent/vmlinuz");

    private static String problem(byte[] file) {
        LoadException e = assertThrows(LoadException.class, () -> BzImage.parse("vmlinuz", file));
        assertTrue(e.getMessage().startsWith("vmlinuz: "), e.getMessage());
        return e.getMessage();
    }

    private static byte[] image(Consumer<ByteBuffer> tweak) {
        return TestImages.bzImage(1, TestImages.gzip(TestImages.vmlinux(true)), tweak);
    }

    @Test
    void headerFieldsAreRead() throws Exception {
        byte[] file = image(b -> { });
        BzImage bz = BzImage.parse("vmlinuz", file);
        assertEquals(1024, bz.setupSize);
        assertEquals(file.length - 1024, bz.kernelSize);
        assertEquals(0x7FFF_FFFFL, bz.initrdAddrMax);
        assertEquals(0x7FF, bz.cmdlineSize);
        assertEquals(0x20_0000, bz.kernelAlignment);
        assertEquals(0x100_0000, bz.prefAddress);
        assertEquals(0x10_0000, bz.initSize);
        assertEquals(0x020F, bz.version);
        byte[] header = bz.setupHeader();
        assertEquals(0x26C - 0x1F1, header.length, "0x202 + the jump's 0x6A");
        assertArrayEquals(Arrays.copyOfRange(file, 0x1F1, 0x26C), header);
    }

    @Test
    void zeroSetupSectorsMeansFour() throws Exception {
        byte[] file = TestImages.bzImage(0, TestImages.gzip(new byte[10]), b -> { });
        BzImage bz = BzImage.parse("vmlinuz", file);
        assertEquals(5 * 512, bz.setupSize);
        bz.load(memory, MIB, 32 * MIB, NOT_READ);
        assertArrayEquals(Arrays.copyOfRange(file, 5 * 512, 5 * 512 + 64), memory.read(MIB, 64));
    }

    @Test
    void protectedModeKernelLandsAtTheLoadAddress() throws Exception {
        byte[] file = image(b -> { });
        BzImage bz = BzImage.parse("vmlinuz", file);
        long end = bz.load(memory, MIB, 32 * MIB, NOT_READ);
        assertArrayEquals(Arrays.copyOfRange(file, 1024, file.length), memory.read(MIB, file.length - 1024));
        assertEquals(0, memory.readLong(MIB - 8), "nothing below the load address");
        assertEquals(0x100_0000 + 0x10_0000, end, "pref_address (16 MiB) + init_size: where the decompressor works");
        assertEquals(MIB + 0x200, BzImage.entry64(MIB));
    }

    @Test
    void decompressionAreaFollowsAlignmentAndRelocatability() throws Exception {
        // Relocatable with pref_address below the aligned load address: run at the aligned address.
        BzImage low = BzImage.parse("vmlinuz", image(b -> b.putLong(0x258, 0x10_0000)));
        assertEquals(0x20_0000 + 0x10_0000, low.load(memory, MIB, 32 * MIB, NOT_READ));
        // Not relocatable: always pref_address.
        BzImage fixed = BzImage.parse("vmlinuz", image(b -> b.put(0x234, (byte) 0).putLong(0x258, 0x80_0000)));
        assertEquals(0x80_0000 + 0x10_0000, fixed.load(memory, MIB, 32 * MIB, NOT_READ));
    }

    @Test
    void kernelsThatNeedMoreRamAreRefused() throws Exception {
        BzImage big = BzImage.parse("vmlinuz", image(b -> b.putInt(0x260, 0x200_0000)));
        LoadException e = assertThrows(LoadException.class, () -> big.load(memory, MIB, 32 * MIB, NOT_READ));
        assertTrue(e.getMessage().contains("init_size"), e.getMessage());
        BzImage far = BzImage.parse("vmlinuz", image(b -> b.putLong(0x258, -MIB)));
        assertThrows(LoadException.class, () -> far.load(memory, MIB, 32 * MIB, NOT_READ));
        BzImage ok = BzImage.parse("vmlinuz", image(b -> { }));
        e = assertThrows(LoadException.class, () -> ok.load(memory, 32 * MIB - 512, 32 * MIB, NOT_READ));
        assertTrue(e.getMessage().contains("does not fit guest RAM"), e.getMessage());
    }

    @Test
    void wrongMagicAndOldProtocolsAreRefused() {
        assertEquals("vmlinuz: not a bzImage: boot_flag at 0x1FE is 0x1234, expected 0xAA55",
                problem(image(b -> b.putShort(0x1FE, (short) 0x1234))));
        assertTrue(problem(image(b -> b.putInt(0x202, 0))).contains("no \"HdrS\""));
        assertEquals("vmlinuz: boot protocol 2.11 is too old: 2.12 or newer is needed for the 64-bit entry",
                problem(image(b -> b.putShort(0x206, (short) 0x020B))));
        assertTrue(problem(image(b -> b.putShort(0x236, (short) 0x7E))).contains("XLF_KERNEL_64"));
        assertTrue(problem(image(b -> b.put(0x211, (byte) 0))).contains("LOADED_HIGH"));
    }

    @Test
    void truncatedFilesAreRefused() {
        byte[] file = image(b -> { });
        assertTrue(problem(Arrays.copyOf(file, 0x100)).contains("truncated"));
        assertTrue(problem(Arrays.copyOf(file, 0x240)).contains("truncated"), "cut inside the header");
        assertTrue(problem(Arrays.copyOf(file, file.length - 16)).contains("truncated: setup_sects 1 and syssize"));
        assertTrue(problem(image(b -> b.put(0x1F1, (byte) 0xFF))).contains("truncated"), "setup_sects past the end");
        assertTrue(problem(image(b -> b.putInt(0x1F4, -1))).contains("truncated"), "huge syssize");
    }

    @Test
    void badFieldsAreRefused() {
        assertTrue(problem(image(b -> b.putInt(0x1F4, 0))).contains("syssize is 0"));
        assertTrue(problem(image(b -> b.putInt(0x230, 0x30_0000))).contains("kernel_alignment 0x300000 is not a power of two"));
        assertTrue(problem(image(b -> b.putInt(0x230, 0))).contains("kernel_alignment"));
        assertTrue(problem(image(b -> b.putInt(0x260, 0))).contains("init_size is 0"));
    }

    @Test
    void recognisesOnlyFilesWithBothMagics() {
        assertTrue(BzImage.looksLike(image(b -> { })));
        assertFalse(BzImage.looksLike(image(b -> b.putInt(0x202, 0))));
        assertFalse(BzImage.looksLike(new byte[0x100]));
    }

    @Test
    void gzipPayloadExtractsToTheVmlinux() throws Exception {
        byte[] vmlinux = TestImages.vmlinux(true);
        BzImage bz = BzImage.parse("vmlinuz", TestImages.bzImage(TestImages.gzip(vmlinux)));
        assertArrayEquals(vmlinux, bz.extractVmlinux(MIB));
    }

    @Test
    void lz4PayloadExtractsToTheVmlinux() throws Exception {
        byte[] vmlinux = TestImages.vmlinux(true);
        BzImage bz = BzImage.parse("vmlinuz", TestImages.bzImage(TestImages.lz4Payload(vmlinux)));
        assertArrayEquals(vmlinux, bz.extractVmlinux(MIB));
    }

    @Test
    void otherCompressionsAreNamedAndRefused() throws Exception {
        String[][] cases = {
                {"28b52ffd0000", "zstd"}, {"fd377a585a000000", "xz"}, {"5d0000800000", "lzma"},
                {"425a68390000", "bzip2"}, {"894c5a4f0000", "lzo"}, {"04224d180000", "lz4 frame"}};
        for (String[] c : cases) {
            BzImage bz = BzImage.parse("vmlinuz", TestImages.bzImage(java.util.HexFormat.of().parseHex(c[0])));
            LoadException e = assertThrows(LoadException.class, () -> bz.extractVmlinux(MIB));
            assertTrue(e.getMessage().startsWith("vmlinuz: unsupported compression " + c[1] + " "), e.getMessage());
        }
        BzImage unknown = BzImage.parse("vmlinuz", TestImages.bzImage(new byte[] {1, 2, 3, 4, 5}));
        assertEquals("vmlinuz: unknown compression (payload starts with 01 02 03 04)",
                assertThrows(LoadException.class, () -> unknown.extractVmlinux(MIB)).getMessage());
    }

    @Test
    void payloadFieldsMustPointInsideTheKernel() throws Exception {
        BzImage past = BzImage.parse("vmlinuz", image(b -> b.putInt(0x24C, 1 << 30)));
        assertTrue(assertThrows(LoadException.class, () -> past.extractVmlinux(MIB)).getMessage().contains("payload_offset"));
        BzImage offset = BzImage.parse("vmlinuz", image(b -> b.putInt(0x248, -1)));
        assertThrows(LoadException.class, () -> offset.extractVmlinux(MIB));
        BzImage empty = BzImage.parse("vmlinuz", image(b -> b.putInt(0x24C, 0)));
        assertThrows(LoadException.class, () -> empty.extractVmlinux(MIB));
    }

    @Test
    void decompressionBombsStopAtTheLimit() throws Exception {
        byte[] zeros = new byte[4 * (int) MIB];
        BzImage gz = BzImage.parse("vmlinuz", TestImages.bzImage(TestImages.gzip(zeros)));
        LoadException e = assertThrows(LoadException.class, () -> gz.extractVmlinux(MIB));
        assertTrue(e.getMessage().contains("more than the limit of 1048576"), e.getMessage());

        BzImage lz = BzImage.parse("vmlinuz", TestImages.bzImage(TestImages.lz4Payload(zeros)));
        e = assertThrows(LoadException.class, () -> lz.extractVmlinux(MIB));
        assertTrue(e.getMessage().contains("declares 4194304 decompressed bytes"), e.getMessage());

        // A trailer that lies small does not let the data grow past it.
        byte[] lying = TestImages.lz4Payload(zeros);
        System.arraycopy(TestImages.le32(1000), 0, lying, lying.length - 4, 4);
        BzImage liar = BzImage.parse("vmlinuz", TestImages.bzImage(lying));
        e = assertThrows(LoadException.class, () -> liar.extractVmlinux(MIB));
        assertTrue(e.getMessage().startsWith("vmlinuz: corrupt lz4 payload: decompressed data exceeds the limit of 1000"), e.getMessage());
    }

    @Test
    void corruptPayloadsAreRefused() throws Exception {
        byte[] gz = TestImages.gzip(TestImages.vmlinux(true));
        gz[gz.length / 2] ^= 0x55;
        gz[gz.length / 2 + 1] ^= 0x55;
        BzImage badGzip = BzImage.parse("vmlinuz", TestImages.bzImage(gz));
        assertTrue(assertThrows(LoadException.class, () -> badGzip.extractVmlinux(MIB)).getMessage().contains("corrupt gzip payload"));
        byte[] vmlinux = TestImages.vmlinux(true);
        byte[] shortTrailer = TestImages.lz4Payload(vmlinux);
        System.arraycopy(TestImages.le32(vmlinux.length + 1000), 0, shortTrailer, shortTrailer.length - 4, 4);
        BzImage wrongSize = BzImage.parse("vmlinuz", TestImages.bzImage(shortTrailer));
        assertTrue(assertThrows(LoadException.class, () -> wrongSize.extractVmlinux(MIB)).getMessage().contains("its trailer says"));
    }
}
