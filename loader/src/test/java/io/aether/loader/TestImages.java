package io.aether.loader;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.GZIPOutputStream;

/** Small kernel images built byte by byte for the tests: fake bzImages, ELF files, LZ4 data. */
final class TestImages {

    static final long MIB = 1 << 20;

    private TestImages() {
    }

    /** One PT_LOAD segment to put in a test ELF. */
    record Seg(long vaddr, long paddr, byte[] data, long memsz) {
    }

    /** A note: name, type, descriptor. */
    record Note(String name, int type, byte[] desc) {
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed + (i >>> 8));
        return b;
    }

    static byte[] le64(long v) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
    }

    static byte[] le32(int v) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array();
    }

    static Note pvhNote(long entry) {
        return new Note("Xen", 18, le64(entry));
    }

    /** An ELF64 x86_64 ET_EXEC file with the given PT_LOAD segments and one PT_NOTE of {@code notes}. */
    static byte[] elf(long entry, List<Seg> segs, List<Note> notes) {
        ByteArrayOutputStream noteBytes = new ByteArrayOutputStream();
        for (Note n : notes) {
            byte[] name = (n.name() + "\0").getBytes(StandardCharsets.US_ASCII);
            noteBytes.writeBytes(le32(name.length));
            noteBytes.writeBytes(le32(n.desc().length));
            noteBytes.writeBytes(le32(n.type()));
            noteBytes.writeBytes(Arrays.copyOf(name, (name.length + 3) & ~3));
            noteBytes.writeBytes(Arrays.copyOf(n.desc(), (n.desc().length + 3) & ~3));
        }
        int phnum = segs.size() + (notes.isEmpty() ? 0 : 1);
        int dataStart = 64 + 56 * phnum;
        int noteOffset = dataStart;
        int pos = (noteOffset + noteBytes.size() + 15) & ~15;
        int[] offsets = new int[segs.size()];
        for (int i = 0; i < segs.size(); i++) {
            offsets[i] = pos;
            pos = (pos + segs.get(i).data().length + 15) & ~15;
        }
        ByteBuffer b = ByteBuffer.allocate(pos).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 2);
        b.putShort(18, (short) 62);
        b.putInt(20, 1);
        b.putLong(24, entry);
        b.putLong(32, 64);
        b.putShort(52, (short) 64);
        b.putShort(54, (short) 56);
        b.putShort(56, (short) phnum);
        int ph = 64;
        for (int i = 0; i < segs.size(); i++, ph += 56) {
            Seg s = segs.get(i);
            b.putInt(ph, 1);
            b.putInt(ph + 4, 7);
            b.putLong(ph + 8, offsets[i]);
            b.putLong(ph + 16, s.vaddr());
            b.putLong(ph + 24, s.paddr());
            b.putLong(ph + 32, s.data().length);
            b.putLong(ph + 40, s.memsz());
            b.putLong(ph + 48, 0x1000);
            b.put(offsets[i], s.data());
        }
        if (!notes.isEmpty()) {
            b.putInt(ph, 4);
            b.putLong(ph + 8, noteOffset);
            b.putLong(ph + 32, noteBytes.size());
            b.putLong(ph + 40, noteBytes.size());
            b.put(noteOffset, noteBytes.toByteArray());
        }
        return b.array();
    }

    /** A small vmlinux-like ELF: text at 16 MiB (virtual 0xffffffff81000000), data + bss after, a PVH note. */
    static byte[] vmlinux(boolean withPvhNote) {
        List<Seg> segs = List.of(
                new Seg(0xFFFF_FFFF_8100_0000L, 0x100_0000, pattern(0x3000, 1), 0x3000),
                new Seg(0xFFFF_FFFF_8100_4000L, 0x100_4000, pattern(0x1800, 2), 0x4000));
        List<Note> notes = withPvhNote ? List.of(new Note("GNU", 3, pattern(20, 3)), pvhNote(0x100_0040)) : List.of();
        return elf(0x100_0000, segs, notes);
    }

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** An LZ4 legacy frame of {@code data}, as lz4 -l writes it, plus the kernel's size trailer. */
    static byte[] lz4Payload(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(legacyFrame(data, 8 << 20));
        out.writeBytes(le32(data.length));
        return out.toByteArray();
    }

    static byte[] legacyFrame(byte[] data, int blockSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le32(Lz4.LEGACY_MAGIC));
        for (int at = 0; at < data.length; at += blockSize) {
            byte[] block = compressBlock(Arrays.copyOfRange(data, at, Math.min(data.length, at + blockSize)));
            out.writeBytes(le32(block.length));
            out.writeBytes(block);
        }
        return out.toByteArray();
    }

    /**
     * A greedy LZ4 block compressor written for the tests from the block format description:
     * matches of 4+ bytes found through a hash of the next 4 bytes, the last 5 bytes and anything
     * after the last match start 12 bytes before the end kept as literals.
     */
    static byte[] compressBlock(byte[] src) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Map<Integer, Integer> last = new HashMap<>();
        int anchor = 0;
        int i = 0;
        int n = src.length;
        while (i + 12 <= n) {
            int key = Lz4.le32(src, i);
            Integer cand = last.put(key, i);
            if (cand != null && i - cand <= 0xFFFF && Lz4.le32(src, cand) == key) {
                int len = 4;
                while (i + len < n - 5 && src[cand + len] == src[i + len]) len++;
                sequence(out, src, anchor, i - anchor, i - cand, len);
                i += len;
                anchor = i;
            } else {
                i++;
            }
        }
        sequence(out, src, anchor, n - anchor, 0, 0);
        return out.toByteArray();
    }

    private static void sequence(ByteArrayOutputStream out, byte[] src, int from, int literals, int offset, int match) {
        int litNibble = Math.min(literals, 15);
        int matchNibble = match == 0 ? 0 : Math.min(match - 4, 15);
        out.write((litNibble << 4) | matchNibble);
        if (literals >= 15) extension(out, literals - 15);
        out.write(src, from, literals);
        if (match == 0) return;
        out.write(offset & 0xFF);
        out.write(offset >>> 8);
        if (match - 4 >= 15) extension(out, match - 4 - 15);
    }

    private static void extension(ByteArrayOutputStream out, int rest) {
        while (rest >= 255) {
            out.write(255);
            rest -= 255;
        }
        out.write(rest);
    }

    /**
     * A bzImage: {@code setupSects} setup sectors after the boot sector, then a protected-mode
     * kernel of 0x400 bytes of code followed by {@code payload}, padded to 16 bytes; header fields
     * as Linux 6.1 writes them; {@code tweak} may change any of them afterwards.
     */
    static byte[] bzImage(int setupSects, byte[] payload, Consumer<ByteBuffer> tweak) {
        int setupSize = ((setupSects == 0 ? 4 : setupSects) + 1) * 512;
        byte[] code = pattern(0x400, 9);
        int kernelSize = (code.length + payload.length + 15) & ~15;
        ByteBuffer b = ByteBuffer.allocate(setupSize + kernelSize).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1F1, (byte) setupSects);
        b.putInt(0x1F4, kernelSize / 16);
        b.putShort(0x1FE, (short) 0xAA55);
        b.put(0x200, (byte) 0xEB).put(0x201, (byte) 0x6A);
        b.putInt(0x202, 0x5372_6448);
        b.putShort(0x206, (short) 0x020F);
        b.put(0x211, (byte) 0x01);
        b.putInt(0x22C, 0x7FFF_FFFF);
        b.putInt(0x230, 0x20_0000);
        b.put(0x234, (byte) 1);
        b.putShort(0x236, (short) 0x7F);
        b.putInt(0x238, 0x7FF);
        b.putInt(0x248, code.length);
        b.putInt(0x24C, payload.length);
        b.putLong(0x258, 0x100_0000);
        b.putInt(0x260, 0x10_0000);
        b.put(setupSize, code);
        b.put(setupSize + code.length, payload);
        tweak.accept(b);
        return b.array();
    }

    static byte[] bzImage(byte[] payload) {
        return bzImage(1, payload, b -> { });
    }
}
