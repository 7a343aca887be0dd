package io.aether.loader;

import io.aether.memory.GuestMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * A parsed ELF64 x86_64 executable kernel (System V gABI "ELF Header" and "Program Header";
 * Xen's public/elfnote.h for the PVH entry note). Every offset and size is checked against the
 * file before use; errors name the offending field.
 */
final class ElfKernel {

    static final int EHDR_SIZE = 64;
    static final int PHDR_SIZE = 56;
    static final int ELFCLASS64 = 2;
    static final int ELFDATA2LSB = 1;
    static final int EV_CURRENT = 1;
    static final int ET_EXEC = 2;
    static final int EM_X86_64 = 62;
    static final int PT_LOAD = 1;
    static final int PT_NOTE = 4;
    /** Plenty for a kernel (vmlinux has about five) and bounds the work on hostile input. */
    static final int MAX_PHDRS = 128;
    static final int XEN_ELFNOTE_PHYS32_ENTRY = 18;

    /** One PT_LOAD segment. */
    record Segment(int index, long offset, long vaddr, long paddr, long filesz, long memsz) {
    }

    final String name;
    final long entry;
    final List<Segment> segments;
    final OptionalLong pvhEntry;
    private final byte[] file;

    private ElfKernel(String name, byte[] file) throws LoadException {
        this.name = name;
        this.file = file;
        if (file.length < EHDR_SIZE) throw new LoadException(name, "truncated ELF header: " + file.length + " bytes, 64 needed");
        if (file[0] != 0x7F || file[1] != 'E' || file[2] != 'L' || file[3] != 'F') throw new LoadException(name, "not an ELF file: bad e_ident magic");
        if (file[4] != ELFCLASS64) throw new LoadException(name, "e_ident[EI_CLASS] is " + file[4] + ", not ELFCLASS64 (2)");
        if (file[5] != ELFDATA2LSB) throw new LoadException(name, "e_ident[EI_DATA] is " + file[5] + ", not little-endian (1)");
        if (file[6] != EV_CURRENT) throw new LoadException(name, "e_ident[EI_VERSION] is " + file[6] + ", not 1");
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int type = b.getShort(16) & 0xFFFF;
        if (type != ET_EXEC) throw new LoadException(name, "e_type is " + type + ", not ET_EXEC (2)");
        int machine = b.getShort(18) & 0xFFFF;
        if (machine != EM_X86_64) throw new LoadException(name, "e_machine is " + machine + ", not EM_X86_64 (62)");
        entry = b.getLong(24);
        long phoff = b.getLong(32);
        int phentsize = b.getShort(54) & 0xFFFF;
        int phnum = b.getShort(56) & 0xFFFF;
        if (phentsize != PHDR_SIZE) throw new LoadException(name, "e_phentsize is " + phentsize + ", not " + PHDR_SIZE);
        if (phnum == 0 || phnum > MAX_PHDRS) throw new LoadException(name, "e_phnum is " + phnum + ", not in 1.." + MAX_PHDRS);
        if (phoff < EHDR_SIZE || phoff > file.length || (long) phnum * PHDR_SIZE > file.length - phoff) {
            throw new LoadException(name, "e_phoff 0x" + Long.toHexString(phoff) + " with " + phnum + " program headers runs past the end of the file");
        }
        List<Segment> loads = new ArrayList<>();
        OptionalLong pvh = OptionalLong.empty();
        for (int i = 0; i < phnum; i++) {
            int ph = (int) phoff + i * PHDR_SIZE;
            int ptype = b.getInt(ph);
            long offset = b.getLong(ph + 8);
            long vaddr = b.getLong(ph + 16);
            long paddr = b.getLong(ph + 24);
            long filesz = b.getLong(ph + 32);
            long memsz = b.getLong(ph + 40);
            if (ptype != PT_LOAD && ptype != PT_NOTE) continue;
            if (offset < 0 || offset > file.length || filesz < 0 || filesz > file.length - offset) {
                throw new LoadException(name, "program header " + i + ": p_offset 0x" + Long.toHexString(offset) + " + p_filesz "
                        + Long.toUnsignedString(filesz) + " runs past the end of the file");
            }
            if (ptype == PT_LOAD) {
                if (Long.compareUnsigned(filesz, memsz) > 0) {
                    throw new LoadException(name, "program header " + i + ": p_filesz " + filesz + " exceeds p_memsz " + Long.toUnsignedString(memsz));
                }
                if (paddr < 0 || memsz < 0 || paddr + memsz < 0) {
                    throw new LoadException(name, "program header " + i + ": p_paddr 0x" + Long.toHexString(paddr) + " + p_memsz 0x"
                            + Long.toHexString(memsz) + " overflows the physical address space");
                }
                loads.add(new Segment(i, offset, vaddr, paddr, filesz, memsz));
            } else {
                OptionalLong found = pvhNote(i, (int) offset, (int) filesz);
                if (found.isPresent()) pvh = found;
            }
        }
        if (loads.stream().noneMatch(s -> s.memsz() > 0)) throw new LoadException(name, "no PT_LOAD segment with contents");
        segments = List.copyOf(loads);
        pvhEntry = pvh;
    }

    static ElfKernel parse(String name, byte[] file) throws LoadException {
        return new ElfKernel(name, file);
    }

    static boolean looksLike(byte[] file) {
        return file.length >= 4 && file[0] == 0x7F && file[1] == 'E' && file[2] == 'L' && file[3] == 'F';
    }

    /**
     * Walks the notes of a PT_NOTE segment (each: namesz, descsz, type, then name and desc, each
     * padded to 4 bytes) and returns the PVH entry of a "Xen" XEN_ELFNOTE_PHYS32_ENTRY note,
     * a 32-bit address stored in 4 or 8 bytes.
     */
    private OptionalLong pvhNote(int header, int start, int length) throws LoadException {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        int pos = start;
        int end = start + length;
        OptionalLong found = OptionalLong.empty();
        while (end - pos >= 12) {
            long namesz = b.getInt(pos) & 0xFFFF_FFFFL;
            long descsz = b.getInt(pos + 4) & 0xFFFF_FFFFL;
            int type = b.getInt(pos + 8);
            long nameEnd = pos + 12L + align4(namesz);
            long descEnd = nameEnd + align4(descsz);
            if (pos + 12L + namesz > end || nameEnd + descsz > end) {
                throw new LoadException(name, "program header " + header + ": note at offset 0x" + Integer.toHexString(pos)
                        + " (n_namesz " + namesz + ", n_descsz " + descsz + ") runs past the end of its PT_NOTE segment");
            }
            if (namesz == 4 && file[pos + 12] == 'X' && file[pos + 13] == 'e' && file[pos + 14] == 'n' && file[pos + 15] == 0
                    && type == XEN_ELFNOTE_PHYS32_ENTRY) {
                int desc = (int) nameEnd;
                long value = switch ((int) descsz) {
                    case 4 -> b.getInt(desc) & 0xFFFF_FFFFL;
                    case 8 -> b.getLong(desc);
                    default -> throw new LoadException(name, "XEN_ELFNOTE_PHYS32_ENTRY has n_descsz " + descsz + ", expected 4 or 8");
                };
                if (value <= 0 || value > 0xFFFF_FFFFL) {
                    throw new LoadException(name, "XEN_ELFNOTE_PHYS32_ENTRY 0x" + Long.toHexString(value) + " is not a 32-bit address");
                }
                found = OptionalLong.of(value);
            }
            pos = (int) Math.min(descEnd, end);
        }
        return found;
    }

    private static long align4(long n) {
        return (n + 3) & ~3L;
    }

    /**
     * The physical address of e_entry: inside a segment's virtual range it is translated to that
     * segment's physical range; an e_entry that already lies in a segment's physical range (as in
     * x86_64 vmlinux, whose entry is the physical startup_64) is used as is.
     */
    long physicalEntry() throws LoadException {
        for (Segment s : segments) {
            if (Long.compareUnsigned(entry - s.vaddr(), s.memsz()) < 0) return s.paddr() + (entry - s.vaddr());
        }
        for (Segment s : segments) {
            if (Long.compareUnsigned(entry - s.paddr(), s.memsz()) < 0) return entry;
        }
        throw new LoadException(name, "e_entry 0x" + Long.toHexString(entry) + " lies in no PT_LOAD segment");
    }

    /**
     * Copies each PT_LOAD segment to its p_paddr and zeroes the rest up to p_memsz (the bss);
     * returns the end of the highest segment.
     *
     * @param lowest no segment may start below this address (boot structures live there)
     */
    long load(GuestMemory memory, long lowest) throws LoadException {
        for (Segment s : segments) {
            if (s.memsz() == 0) continue;
            if (s.paddr() < lowest) {
                throw new LoadException(name, "program header " + s.index() + ": p_paddr 0x" + Long.toHexString(s.paddr())
                        + " lies below 0x" + Long.toHexString(lowest) + ", where the boot structures are");
            }
            if (!memory.contains(s.paddr(), s.memsz())) {
                throw new LoadException(name, "program header " + s.index() + ": p_paddr 0x" + Long.toHexString(s.paddr()) + " + p_memsz "
                        + s.memsz() + " lies outside guest RAM: give the guest more memory");
            }
        }
        long end = 0;
        for (Segment s : segments) {
            if (s.memsz() == 0) continue;
            memory.write(s.paddr(), file, (int) s.offset(), (int) s.filesz());
            memory.fill(s.paddr() + s.filesz(), s.memsz() - s.filesz(), (byte) 0);
            end = Math.max(end, s.paddr() + s.memsz());
        }
        return end;
    }
}
