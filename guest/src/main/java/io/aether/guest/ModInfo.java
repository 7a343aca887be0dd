package io.aether.guest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A kernel module's metadata from its {@code .modinfo} section: the module's name and the
 * modules it depends on (the {@code name=} and {@code depends=} strings that modpost writes).
 *
 * <p>A {@code .ko} is an ELF64 relocatable object. {@link #parse} reads the ELF header, the
 * section header table and the section-name string table itself, checking every offset and
 * size against the file, so a truncated or hostile file gives a {@link ModuleFormatException}
 * and never an out-of-bounds read.
 *
 * @param name    the module name, e.g. {@code kvm_amd} (file {@code kvm-amd.ko})
 * @param depends the names of the modules it needs loaded first, in modinfo order
 */
public record ModInfo(String name, List<String> depends) {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    /** Modules are a few MiB at most; refuse to map anything absurd. */
    static final long MAX_FILE_SIZE = 256L << 20;
    private static final int ELF_HEADER_SIZE = 64;
    private static final int SECTION_HEADER_SIZE = 64;
    private static final int ET_REL = 1;
    private static final int SHT_NOBITS = 8;
    private static final int SHN_XINDEX = 0xffff;

    public ModInfo {
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("bad module name: '" + name + "'");
        }
        for (String d : depends) {
            if (!NAME.matcher(d).matches()) {
                throw new IllegalArgumentException("module " + name + " has a bad dependency name: '" + d + "'");
            }
        }
        depends = List.copyOf(depends);
    }

    /** Reads the metadata of the module file {@code ko}. */
    public static ModInfo read(Path ko) throws IOException {
        try (FileChannel ch = FileChannel.open(ko, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE_SIZE) {
                throw new ModuleFormatException(ko + ": " + size + " bytes is too large for a kernel module");
            }
            ByteBuffer buffer = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            try {
                return parse(buffer);
            } catch (ModuleFormatException e) {
                throw new ModuleFormatException(ko + ": " + e.getMessage());
            }
        }
    }

    /**
     * Parses the metadata from the bytes of a module file (the buffer's position 0 to limit).
     *
     * @throws ModuleFormatException naming what is wrong when the bytes are not an ELF64
     *     little-endian relocatable object with a well-formed {@code .modinfo} section
     */
    public static ModInfo parse(ByteBuffer file) throws ModuleFormatException {
        ByteBuffer b = file.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.position(0);
        long size = b.limit();
        if (size < ELF_HEADER_SIZE) {
            throw new ModuleFormatException("too short for an ELF header (" + size + " bytes)");
        }
        if (b.getInt(0) != 0x464c457f) {
            throw new ModuleFormatException("not an ELF file (bad magic)");
        }
        if (b.get(4) != 2) {
            throw new ModuleFormatException("not a 64-bit ELF file (EI_CLASS " + b.get(4) + ")");
        }
        if (b.get(5) != 1) {
            throw new ModuleFormatException("not a little-endian ELF file (EI_DATA " + b.get(5) + ")");
        }
        int type = Short.toUnsignedInt(b.getShort(16));
        if (type != ET_REL) {
            throw new ModuleFormatException("not a relocatable object (e_type " + type + "), so not a kernel module");
        }
        long shoff = b.getLong(0x28);
        int shentsize = Short.toUnsignedInt(b.getShort(0x3A));
        int shnum = Short.toUnsignedInt(b.getShort(0x3C));
        int shstrndx = Short.toUnsignedInt(b.getShort(0x3E));
        if (shnum == 0 || shstrndx == SHN_XINDEX) {
            throw new ModuleFormatException("extended section numbering is not supported");
        }
        if (shentsize < SECTION_HEADER_SIZE) {
            throw new ModuleFormatException("e_shentsize " + shentsize + " is smaller than a section header");
        }
        if (shoff < 0 || shoff > size || (long) shnum * shentsize > size - shoff) {
            throw new ModuleFormatException("section header table (offset " + shoff + ", " + shnum + " x "
                    + shentsize + " bytes) lies outside the file (" + size + " bytes)");
        }
        if (shstrndx >= shnum) {
            throw new ModuleFormatException("e_shstrndx " + shstrndx + " is not below e_shnum " + shnum);
        }
        Section names = section(b, shoff, shentsize, shstrndx, size);
        for (int i = 0; i < shnum; i++) {
            Section s = section(b, shoff, shentsize, i, size);
            if (".modinfo".equals(names.string(b, s.nameOffset))) {
                if (s.type == SHT_NOBITS) {
                    throw new ModuleFormatException(".modinfo has no data (SHT_NOBITS)");
                }
                return fromStrings(b, s);
            }
        }
        throw new ModuleFormatException("no .modinfo section");
    }

    private record Section(long nameOffset, int type, long offset, long size) {
        /** The NUL-terminated string at {@code at} within this (string table) section, or null. */
        String string(ByteBuffer b, long at) {
            if (type == SHT_NOBITS || at < 0 || at >= size) {
                return null;
            }
            for (long i = offset + at; i < offset + size; i++) {
                if (b.get((int) i) == 0) {
                    byte[] bytes = new byte[(int) (i - offset - at)];
                    b.get((int) (offset + at), bytes);
                    return new String(bytes, StandardCharsets.UTF_8);
                }
            }
            return null;
        }
    }

    private static Section section(ByteBuffer b, long shoff, int shentsize, int index, long fileSize)
            throws ModuleFormatException {
        int at = Math.toIntExact(shoff + (long) index * shentsize);
        long nameOffset = Integer.toUnsignedLong(b.getInt(at));
        int type = b.getInt(at + 4);
        long offset = b.getLong(at + 0x18);
        long size = b.getLong(at + 0x20);
        boolean hasData = type != SHT_NOBITS;
        if (hasData && (offset < 0 || size < 0 || offset > fileSize || size > fileSize - offset)) {
            throw new ModuleFormatException("section " + index + " (offset " + offset + ", size " + size
                    + ") lies outside the file (" + fileSize + " bytes)");
        }
        return new Section(nameOffset, type, offset, size);
    }

    private static ModInfo fromStrings(ByteBuffer b, Section s) throws ModuleFormatException {
        byte[] data = new byte[(int) s.size];
        b.get((int) s.offset, data);
        String name = null;
        List<String> depends = List.of();
        int start = 0;
        for (int i = 0; i <= data.length; i++) {
            if (i == data.length || data[i] == 0) {
                if (i > start) {
                    String entry = new String(data, start, i - start, StandardCharsets.UTF_8);
                    if (entry.startsWith("name=")) {
                        if (name != null) {
                            throw new ModuleFormatException(".modinfo has two name= entries");
                        }
                        name = entry.substring(5);
                    } else if (entry.startsWith("depends=")) {
                        String list = entry.substring(8);
                        depends = list.isEmpty() ? List.of() : new ArrayList<>(Arrays.asList(list.split(",", -1)));
                    }
                }
                start = i + 1;
            }
        }
        if (name == null) {
            throw new ModuleFormatException(".modinfo has no name= entry");
        }
        try {
            return new ModInfo(name, depends);
        } catch (IllegalArgumentException e) {
            throw new ModuleFormatException(".modinfo: " + e.getMessage());
        }
    }
}
