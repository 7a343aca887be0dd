package io.aether.guest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Test support: minimal ELF64 relocatable objects shaped like kernel modules. */
final class TestModules {

    private TestModules() {
    }

    /** A module whose .modinfo holds {@code name=} and {@code depends=} (plus noise, as modpost writes). */
    static byte[] module(String name, List<String> depends) {
        String modinfo = "license=GPL\0depends=" + String.join(",", depends) + "\0retpoline=Y\0\0name=" + name
                + "\0vermagic=6.1.0 SMP mod_unload\0";
        return elf(List.of(".text", ".modinfo", ".note"), List.of(new byte[] {(byte) 0xc3},
                modinfo.getBytes(StandardCharsets.UTF_8), new byte[8]));
    }

    /** An ELF64 little-endian ET_REL with the given sections (plus the null section and .shstrtab, last). */
    static byte[] elf(List<String> names, List<byte[]> contents) {
        ByteArrayOutputStream strtab = new ByteArrayOutputStream();
        strtab.write(0);
        int[] nameOffsets = new int[names.size() + 1];
        for (int i = 0; i < names.size(); i++) {
            nameOffsets[i] = strtab.size();
            strtab.writeBytes((names.get(i) + "\0").getBytes(StandardCharsets.US_ASCII));
        }
        nameOffsets[names.size()] = strtab.size();
        strtab.writeBytes(".shstrtab\0".getBytes(StandardCharsets.US_ASCII));
        byte[] shstrtab = strtab.toByteArray();

        int dataSize = shstrtab.length;
        for (byte[] c : contents) {
            dataSize += c.length;
        }
        int shnum = names.size() + 2;
        int shoff = 64 + dataSize + 7 & ~7;
        ByteBuffer b = ByteBuffer.allocate(shoff + shnum * 64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        b.putShort(16, (short) 1);       // ET_REL
        b.putShort(18, (short) 62);      // EM_X86_64
        b.putInt(20, 1);
        b.putLong(0x28, shoff);
        b.putShort(0x34, (short) 64);
        b.putShort(0x3A, (short) 64);
        b.putShort(0x3C, (short) shnum);
        b.putShort(0x3E, (short) (shnum - 1));
        int offset = 64;
        for (int i = 0; i < names.size(); i++) {
            byte[] c = contents.get(i);
            b.put(offset, c);
            sectionHeader(b, shoff + (i + 1) * 64, nameOffsets[i], 1, offset, c.length);
            offset += c.length;
        }
        b.put(offset, shstrtab);
        sectionHeader(b, shoff + (shnum - 1) * 64, nameOffsets[names.size()], 3, offset, shstrtab.length);
        return b.array();
    }

    private static void sectionHeader(ByteBuffer b, int at, int name, int type, long offset, long size) {
        b.putInt(at, name);
        b.putInt(at + 4, type);
        b.putLong(at + 0x18, offset);
        b.putLong(at + 0x20, size);
    }

    /** Writes a module file {@code file} (e.g. {@code kvm-amd.ko}) in {@code dir}. */
    static Path write(Path dir, String file, String name, List<String> depends) throws IOException {
        Files.createDirectories(dir);
        return Files.write(dir.resolve(file), module(name, depends));
    }
}
