package io.aether.loader;

import io.aether.memory.GuestMemory;
import io.aether.memory.GuestMemoryException;
import io.aether.memory.MemoryRegion;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * Loads a Linux kernel (bzImage or ELF vmlinux, told apart by magic), its initrd and its command
 * line into guest memory. Files are the user's input: each problem ends in a one-line
 * {@link LoadException} naming the file.
 */
public final class KernelLoader {

    /** The largest kernel file, and the largest vmlinux a bzImage may decompress to. */
    public static final long MAX_KERNEL_SIZE = 512L << 20;
    /** Linux's initrd_addr_max default for kernels without a header saying otherwise. */
    static final long DEFAULT_INITRD_ADDR_MAX = 0x7FFF_FFFFL;

    private KernelLoader() {
    }

    /**
     * Loads what {@code request} names. The kernel goes to {@code request.addresses().kernelStart()}
     * (bzImage) or to its segments' physical addresses (ELF), the initrd as high in the RAM region
     * holding the kernel as the kernel allows, the command line to its address.
     *
     * @throws LoadException naming the file and the problem
     */
    public static LoadedKernel load(GuestMemory memory, LoadRequest request) throws LoadException {
        return load(memory, request, MAX_KERNEL_SIZE);
    }

    /**
     * The ELF {@code vmlinux} inside a bzImage, decompressed (bounded by {@link #MAX_KERNEL_SIZE}):
     * the same kernel, bootable through its PVH entry.
     *
     * @throws LoadException naming the file when it is not a bzImage or its payload does not unpack
     */
    public static byte[] extractVmlinux(Path bzImage) throws LoadException {
        String name = bzImage.toString();
        byte[] image = readCapped(bzImage, MAX_KERNEL_SIZE);
        if (!BzImage.looksLike(image)) throw new LoadException(name, "not a bzImage (0xAA55 and \"HdrS\" at 0x1FE)");
        return BzImage.parse(name, image).extractVmlinux(MAX_KERNEL_SIZE);
    }

    static LoadedKernel load(GuestMemory memory, LoadRequest request, long limit) throws LoadException {
        String name = request.kernel().toString();
        LoadAddresses at = request.addresses();
        long fileSize = size(request.kernel());
        if (fileSize > limit) throw new LoadException(name, fileSize + " bytes is larger than the " + limit + "-byte limit for a kernel");
        byte[] head = readHead(request.kernel(), (int) Math.min(fileSize, HEAD));
        long ramEnd = ramEnd(memory, at.kernelStart(), name);
        Placed kernel;
        try {
            if (BzImage.looksLike(head) && request.mode() != BootMode.PVH) {
                // The usual boot: the setup header from the file's head, the kernel read from the file into guest memory.
                BzImage bz = BzImage.parseHead(name, head, fileSize);
                kernel = new Placed(KernelFormat.BZIMAGE, new KernelEntry.Linux64(BzImage.entry64(at.kernelStart()), bz.setupHeader()),
                        bz.load(memory, at.kernelStart(), ramEnd, request.kernel()), bz.initrdAddrMax, bz.cmdlineSize, headerSays(name));
            } else {
                kernel = loadWhole(memory, request, fileSize == head.length ? head : readCapped(request.kernel(), limit), limit);
            }
        } catch (GuestMemoryException e) {
            throw new LoadException(name, "does not fit guest memory: " + e.getMessage(), e);
        }
        int cmdlineLength = Cmdline.write(memory, at.cmdlineAddress(), request.cmdline(), kernel.cmdlineMax, kernel.cmdlineMaxSource, at.cmdlineCapacity());
        long initrdAddress = 0;
        long initrdSize = 0;
        if (request.initrd().isPresent()) {
            Path initrd = request.initrd().get();
            initrdSize = size(initrd);
            initrdAddress = Initrd.place(initrd.toString(), initrdSize, kernel.end, ramEnd, kernel.initrdAddrMax);
            Initrd.read(memory, initrd, initrdAddress, initrdSize);
        }
        return new LoadedKernel(kernel.format, kernel.entry, kernel.end, at.cmdlineAddress(), cmdlineLength, initrdAddress, initrdSize);
    }

    /** A kernel in guest memory: its format, entry, end, and the limits its header sets for the initrd and the command line. */
    private record Placed(KernelFormat format, KernelEntry entry, long end, long initrdAddrMax, long cmdlineMax, String cmdlineMaxSource) {
    }

    private static String headerSays(String kernel) {
        return "the cmdline_size in " + kernel + "'s setup header";
    }

    /** An ELF vmlinux, or a bzImage booted through its PVH entry (the vmlinux inside it, decompressed), from the whole file. */
    private static Placed loadWhole(GuestMemory memory, LoadRequest request, byte[] image, long limit) throws LoadException {
        String name = request.kernel().toString();
        long start = request.addresses().kernelStart();
        if (ElfKernel.looksLike(image)) {
            ElfKernel elf = ElfKernel.parse(name, image);
            return new Placed(KernelFormat.ELF, elfEntry(elf, request.mode()), elf.load(memory, start), DEFAULT_INITRD_ADDR_MAX, Cmdline.DEFAULT_MAX,
                    Cmdline.DEFAULT_MAX_SOURCE);
        }
        if (BzImage.looksLike(image)) {
            BzImage bz = BzImage.parse(name, image);
            ElfKernel elf = ElfKernel.parse(name + " (vmlinux inside)", bz.extractVmlinux(limit));
            return new Placed(KernelFormat.BZIMAGE, elfEntry(elf, BootMode.PVH), elf.load(memory, start), bz.initrdAddrMax, bz.cmdlineSize, headerSays(name));
        }
        throw new LoadException(name, "not a Linux kernel: neither a bzImage (0xAA55 and \"HdrS\" at 0x1FE) nor an ELF file");
    }

    private static KernelEntry elfEntry(ElfKernel elf, BootMode mode) throws LoadException {
        OptionalLong pvh = elf.pvhEntry;
        return switch (mode) {
            case AUTO -> pvh.isPresent() ? new KernelEntry.Pvh(pvh.getAsLong()) : new KernelEntry.Linux64(elf.physicalEntry(), new byte[0]);
            case LINUX_64 -> new KernelEntry.Linux64(elf.physicalEntry(), new byte[0]);
            case PVH -> new KernelEntry.Pvh(pvh.orElseThrow(() -> new LoadException(elf.name,
                    "no PVH entry: the kernel has no XEN_ELFNOTE_PHYS32_ENTRY note (built without CONFIG_PVH?)")));
        };
    }

    /** The end of the RAM region that holds the kernel's start address. */
    static long ramEnd(GuestMemory memory, long kernelStart, String name) throws LoadException {
        for (MemoryRegion r : memory.regions()) {
            if (!r.readOnly() && r.guestBase() <= kernelStart && kernelStart < r.guestBase() + r.size()) return r.guestBase() + r.size();
        }
        throw new LoadException(name, "guest RAM does not reach the kernel's load address 0x" + Long.toHexString(kernelStart));
    }

    static long size(Path file) throws LoadException {
        try {
            if (!Files.isRegularFile(file)) throw new LoadException(file.toString(), "not a regular file");
            long size = Files.size(file);
            if (size == 0) throw new LoadException(file.toString(), "file is empty");
            return size;
        } catch (IOException e) {
            throw new LoadException(file.toString(), "cannot read: " + e, e);
        }
    }

    /**
     * How much of a kernel file is read to tell its format and parse its header: a bzImage's setup
     * header ends by 0x290, an arm64 Image's header is its first 64 bytes.
     */
    static final int HEAD = 4096;

    /** The file's first {@code length} bytes. */
    static byte[] readHead(Path file, int length) throws LoadException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] data = in.readNBytes(length);
            if (data.length != length) throw new LoadException(file.toString(), "file shrank to " + data.length + " bytes while it was read");
            return data;
        } catch (IOException e) {
            throw new LoadException(file.toString(), "cannot read: " + e, e);
        }
    }

    /** Reads a whole file of at most {@code limit} bytes, refusing larger ones before reading them. */
    static byte[] readCapped(Path file, long limit) throws LoadException {
        long size = size(file);
        if (size > limit) throw new LoadException(file.toString(), size + " bytes is larger than the " + limit + "-byte limit for a kernel");
        return readHead(file, (int) size);
    }
}
