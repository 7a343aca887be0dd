package io.aether.loader;

import static io.aether.loader.TestImages.MIB;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz targets for the kernel loaders (bzImage, ELF with its PVH note, their
 * gzip and LZ4 payloads) and for the LZ4 decoder on its own. A kernel file must load into guest
 * RAM or be refused with a one-line {@link LoadException} naming the file; LZ4 data must decode
 * within its limit, to bytes that survive a round trip through the tests' own compressor, or be
 * refused with a {@link Lz4.CorruptException}.
 */
@Timeout(120)
class LoaderCoverageFuzzTest {

    static final long RAM = 8 * MIB;
    static final LoadAddresses AT = new LoadAddresses(MIB, 0x2_0000, 0x1000);
    private static Path kernelFile;

    @Test
    void kernel() {
        Fuzzer.target(getClass(), "kernel").maxLength(64 << 10).run();
    }

    @Test
    void lz4() {
        Fuzzer.target(getClass(), "lz4").maxLength(8 << 10).run();
    }

    /** One byte picks the boot mode; the rest is the kernel file. */
    static void kernel(FuzzInput in) throws IOException {
        BootMode mode = in.pick(BootMode.values());
        byte[] image = in.consumeRemaining();
        // The loader reads a file: one for all executions, rewritten each time.
        if (kernelFile == null) {
            kernelFile = Files.createTempFile("aether-kernel-fuzz", ".img");
            kernelFile.toFile().deleteOnExit();
        }
        Files.write(kernelFile, image);
        LoadRequest request = new LoadRequest(kernelFile, Optional.empty(), "console=ttyS0", mode, AT);
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, RAM)))) {
            LoadedKernel k = KernelLoader.load(memory, request, 4 * MIB);
            assertTrue(k.kernelEnd() <= RAM, "the kernel ends inside RAM: 0x" + Long.toHexString(k.kernelEnd()));
        } catch (LoadException refused) {
            String message = refused.getMessage();
            // A header may allow fewer command-line bytes than the test's 13: that refusal names the file whose header said so.
            boolean headerLimit = message.startsWith("command line: 13 bytes is longer than the kernel accepts (")
                    && message.endsWith(", the cmdline_size in " + kernelFile + "'s setup header)");
            assertTrue(headerLimit || message.startsWith(kernelFile + ": ") || message.startsWith(kernelFile + " (vmlinux inside): "), message);
            assertFalse(message.contains("\n"), "one line: " + message);
        }
    }

    /** One byte picks a single block or a legacy frame; the rest is the LZ4 data. */
    static void lz4(FuzzInput in) {
        boolean frame = in.consumeBoolean();
        byte[] data = in.consumeRemaining();
        int limit = 64 << 10;
        byte[] out;
        try {
            out = frame ? Lz4.decodeLegacyFrame(data, 0, data.length, limit, data.length * 4L) : Lz4.decodeBlock(data, 0, data.length, limit);
        } catch (Lz4.CorruptException refused) {
            assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
            return;
        }
        assertTrue(out.length <= limit, "output within the limit: " + out.length);
        if (out.length > 0) {
            byte[] again = TestImages.compressBlock(out);
            assertArrayEquals(out, uncheckedBlock(again, out.length), "a round trip through the test compressor");
        }
    }

    private static byte[] uncheckedBlock(byte[] block, int length) {
        try {
            return Lz4.decodeBlock(block, 0, block.length, length);
        } catch (Lz4.CorruptException e) {
            throw new IllegalStateException("the decoder refuses what the test compressor wrote: " + e.getMessage(), e);
        }
    }

    /** A vmlinux-like ELF small enough to fuzz: 0x400 bytes of text, 0x200 of data, bss, a PVH note. */
    static byte[] smallVmlinux() {
        List<TestImages.Seg> segs = List.of(
                new TestImages.Seg(0xFFFF_FFFF_8100_0000L, 2 * MIB, TestImages.pattern(0x400, 1), 0x400),
                new TestImages.Seg(0xFFFF_FFFF_8100_1000L, 2 * MIB + 0x1000, TestImages.pattern(0x200, 2), 0x2000));
        return TestImages.elf(2 * MIB, segs, List.of(new TestImages.Note("GNU", 3, TestImages.pattern(20, 3)),
                TestImages.pvhNote(2 * MIB + 0x40)));
    }

    @Test
    void seedsLoad() throws IOException {
        kernel(new FuzzInput(concat(new byte[] {0}, smallVmlinux())));
        kernel(new FuzzInput(concat(new byte[] {2}, TestImages.bzImage(TestImages.lz4Payload(smallVmlinux())))));
        try (GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, RAM)))) {
            Path file = Files.createTempFile("aether-kernel-seed", ".img");
            try {
                Files.write(file, TestImages.bzImage(TestImages.gzip(smallVmlinux())));
                LoadedKernel k = KernelLoader.load(memory, new LoadRequest(file, Optional.empty(), "", BootMode.PVH, AT), 4 * MIB);
                assertTrue(k.entry() instanceof KernelEntry.Pvh p && p.address() == 2 * MIB + 0x40, k.toString());
            } catch (LoadException e) {
                throw new AssertionError(e);
            } finally {
                Files.delete(file);
            }
        }
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
