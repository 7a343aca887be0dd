package io.aether.vmm;

import io.aether.common.FieldException;
import io.aether.devices.i8042.I8042;
import io.aether.devices.block.VirtioBlock;
import io.aether.devices.net.VirtioNet;
import io.aether.devices.serial.Serial16550;
import io.aether.kvm.CpuidEntry;
import io.aether.kvm.Kvm;
import io.aether.kvm.VcpuExit;
import io.aether.kvm.VcpuState;
import io.aether.kvm.VmState;
import io.aether.memory.GuestMemory;
import io.aether.memory.MemoryRegion;
import io.aether.memory.RegionSpec;
import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.snapshot.StateReader;
import io.aether.snapshot.StateWriter;
import io.aether.virtio.VirtioMmioTransport;
import io.aether.vmspec.VmSpec;
import io.aether.vmspec.VmSpecJson;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A VM's snapshot: a directory holding {@value #MEMORY_FILE} (guest RAM, raw, its regions one
 * after another in guest-physical order, all-zero pages left as holes) and {@value #STATE_FILE}
 * (a {@link StateFile}: the spec, the disks it needs, the CPU features the guest saw, every vCPU,
 * the VM's irqchip/PIT/clock where it has them, and every device's and transport's state).
 * docs/snapshots.md describes the sections.
 *
 * <p>{@link MicroVm#snapshot} writes one from a paused VM; {@link #restore} builds a VM from one,
 * its memory mapped from the file copy-on-write, not copied. A restore checks everything it can
 * before it creates anything, and refuses with a {@link SnapshotException} whose one-line message
 * names the file, section or field.
 */
public final class VmSnapshot {

    public static final String MEMORY_FILE = "memory";
    public static final String STATE_FILE = "state";
    /** The longest disk path kept (Linux's PATH_MAX). */
    static final int MAX_PATH_BYTES = 4096;
    /** What a guest's CPUID list may hold; KVM's own limit is lower. */
    static final int MAX_CPUID_ENTRIES = 256;
    /** Memory written between two progress reports. */
    static final long PROGRESS_STEP = 16L << 20;

    private static final long PAGE = RegionSpec.PAGE_SIZE;

    private VmSnapshot() {
    }

    /** Told how far the memory file is: {@code written} of {@code total} bytes of guest memory. */
    @FunctionalInterface
    public interface Progress {
        void written(long written, long total);
    }

    /**
     * What a snapshot wrote.
     *
     * @param memoryBytes the memory file's size (the guest's RAM)
     * @param memoryDataBytes the bytes written into it: the pages that are not all zero
     * @param stateBytes the state file's size
     * @param nanos the time taken, from the paused VM to both files synced
     */
    public record Written(long memoryBytes, long memoryDataBytes, long stateBytes, long nanos) {
    }

    /** A disk as the snapshot found it: a restore wants it where it was, of the same size. */
    record DiskRecord(Path path, long size, long modifiedMillis) {
    }

    /** Writes the snapshot of {@code vm}, which its caller holds paused. */
    static Written write(MicroVm vm, Path dir, Progress progress) throws IOException, InterruptedException {
        long start = System.nanoTime();
        if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(dir + ": exists and is not a directory");
        }
        Files.createDirectories(dir);
        // The state first, in memory: a vCPU or device that cannot be read fails before any file changes.
        List<Section> sections = sections(vm);
        long data = writeMemory(vm.memory(), dir.resolve(MEMORY_FILE), progress);
        // The state file goes last: with it the directory holds a whole snapshot.
        StateFile.write(dir.resolve(STATE_FILE), sections);
        return new Written(vm.memory().size(), data, Files.size(dir.resolve(STATE_FILE)), System.nanoTime() - start);
    }

    private static List<Section> sections(MicroVm vm) throws IOException, InterruptedException {
        List<Section> out = new ArrayList<>();
        VmSpec spec = vm.spec();
        out.add(new Section("spec", VmSpecJson.write(spec).getBytes(StandardCharsets.UTF_8)));
        StateWriter memory = new StateWriter().i32(vm.memory().regions().size());
        for (MemoryRegion r : vm.memory().regions()) memory.i64(r.guestBase()).i64(r.size());
        out.add(memory.toSection("memory"));
        StateWriter disks = new StateWriter().i32(spec.disks().size());
        for (VmSpec.Disk d : spec.disks()) {
            disks.bytes(d.path().toString().getBytes(StandardCharsets.UTF_8)).i64(Files.size(d.path()))
                    .i64(Files.getLastModifiedTime(d.path()).toMillis());
        }
        out.add(disks.toSection("disks"));
        List<Integer> msrs = VcpuState.savedMsrs(X86Arch.hostMsrs(vm.kvm()));
        for (int i = 0; i < vm.runners().size(); i++) {
            VcpuRunner runner = vm.runners().get(i);
            VcpuState state = runner.whileParked(vcpu -> {
                // An I/O or MMIO exit's instruction completes only on the next entry: enter with
                // immediate_exit set, so that the state read is the one after it.
                vcpu.kick();
                VcpuExit exit = vcpu.run();
                if (!(exit instanceof VcpuExit.Interrupted)) {
                    throw new IllegalStateException("vCPU " + vcpu.id() + " left the guest with " + exit + " while settling for a snapshot");
                }
                return vcpu.state(msrs, vm.hasIrqchip());
            });
            StateWriter s = new StateWriter();
            state.write(s);
            out.add(s.toSection("vcpu" + i));
            out.add(cpuid(vm.cpuids().get(i)).toSection("vcpu" + i + ".cpuid"));
        }
        if (vm.hasIrqchip()) {
            StateWriter s = new StateWriter();
            vm.kvmVm().state().write(s);
            out.add(s.toSection("vm"));
        }
        for (Device device : vm.devices().devices()) {
            switch (device) {
                case Device.Uart u -> {
                    StateWriter s = new StateWriter();
                    u.model().state().write(s);
                    out.add(s.toSection(device.name()));
                }
                case Device.Virtio v -> {
                    StateWriter t = new StateWriter();
                    v.transport().state().write(t);
                    out.add(t.toSection(device.name() + ".transport"));
                    StateWriter s = new StateWriter();
                    switch (v) {
                        case Device.Block b -> b.model().state().write(s);
                        case Device.Net n -> n.model().state().write(s);
                        case Device.Rng r -> { } // no state of its own: its queue is the transport's
                    }
                    out.add(s.toSection(device.name()));
                }
                case Device.Keyboard k -> {
                    StateWriter s = new StateWriter();
                    k.model().state().write(s);
                    out.add(s.toSection(device.name()));
                }
                // Registers with no state between accesses: rebuilt as they are.
                case Device.AcpiPower a -> { }
            }
        }
        return out;
    }

    private static StateWriter cpuid(List<CpuidEntry> entries) {
        StateWriter w = new StateWriter().i32(entries.size());
        for (CpuidEntry e : entries) w.i32(e.function()).i32(e.index()).i32(e.flags()).i32(e.eax()).i32(e.ebx()).i32(e.ecx()).i32(e.edx());
        return w;
    }

    /**
     * Writes guest memory to {@code file} through a temporary file renamed into place (a VM
     * restored from an older snapshot here maps the old file: it keeps its pages), leaving all-zero
     * pages as holes; returns the bytes written.
     */
    private static long writeMemory(GuestMemory memory, Path file, Progress progress) throws IOException {
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), "." + MEMORY_FILE + ".", ".tmp");
        long total = memory.size();
        long data = 0;
        try {
            try (Arena arena = Arena.ofConfined(); RandomAccessFile raf = new RandomAccessFile(temp.toFile(), "rw")) {
                MemorySegment zero = arena.allocate(PAGE);
                raf.setLength(total);
                FileChannel ch = raf.getChannel();
                long fileOffset = 0;
                long reported = 0;
                for (MemoryRegion r : memory.regions()) {
                    MemorySegment host = r.host();
                    long page = 0;
                    while (page < r.size()) {
                        if (MemorySegment.mismatch(host, page, page + PAGE, zero, 0, PAGE) == -1) {
                            page += PAGE;
                        } else {
                            long end = page + PAGE;
                            while (end < r.size() && end - page < PROGRESS_STEP
                                    && MemorySegment.mismatch(host, end, end + PAGE, zero, 0, PAGE) != -1) {
                                end += PAGE;
                            }
                            var buffer = host.asSlice(page, end - page).asByteBuffer();
                            long at = fileOffset + page;
                            while (buffer.hasRemaining()) at += ch.write(buffer, at);
                            data += end - page;
                            page = end;
                        }
                        long done = fileOffset + page;
                        if (progress != null && (done - reported >= PROGRESS_STEP || done == total)) {
                            progress.written(done, total);
                            reported = done;
                        }
                    }
                    fileOffset += r.size();
                }
                ch.force(true);
            }
            try {
                Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(file + ": the file system cannot replace a file atomically", e);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
        try (FileChannel d = FileChannel.open(file.toAbsolutePath().getParent(), StandardOpenOption.READ)) {
            d.force(true);
        }
        return data;
    }

    /**
     * A snapshot's state, read and checked as far as it can be without KVM: every section there,
     * each one valid, the memory file of the right size, every disk where it was and of the same size.
     *
     * @param devices each device's sections by name ({@code serial}, {@code virtio-blk0}, {@code virtio-blk0.transport}, ...)
     * @param warnings what a restore may go on with but should tell (a disk modified since the snapshot)
     */
    record Saved(Path dir, VmSpec spec, List<RegionSpec> regions, List<DiskRecord> disks, List<VcpuState> vcpus,
                 List<List<CpuidEntry>> cpuids, Optional<VmState> vm, Map<String, Section> devices, List<String> warnings) {

        Path memoryFile() {
            return dir.resolve(MEMORY_FILE);
        }

        StateReader section(String name) throws SnapshotException {
            Section s = devices.get(name);
            if (s == null) throw new SnapshotException(dir.resolve(STATE_FILE) + ": section " + name + " is missing");
            return s.reader();
        }
    }

    /** Reads and checks the snapshot in {@code dir}; see {@link Saved}. */
    static Saved read(Path dir) throws SnapshotException {
        Path stateFile = dir.resolve(STATE_FILE);
        List<Section> sections;
        try {
            sections = StateFile.read(stateFile);
        } catch (NoSuchFileException e) {
            throw new SnapshotException(stateFile + ": no such file (not a snapshot directory?)", e);
        } catch (SnapshotException e) {
            throw e;
        } catch (IOException e) {
            throw new SnapshotException(stateFile + ": cannot read: " + e.getMessage(), e);
        }
        Map<String, Section> byName = new LinkedHashMap<>();
        for (Section s : sections) byName.put(s.name(), s);
        Saved saved;
        try {
            saved = parse(dir, byName);
        } catch (SnapshotException e) {
            throw new SnapshotException(stateFile + ": " + e.getMessage(), e);
        }
        checkFiles(saved);
        return saved;
    }

    private static Section take(Map<String, Section> sections, String name) throws SnapshotException {
        Section s = sections.remove(name);
        if (s == null) throw new SnapshotException("section " + name + " is missing");
        return s;
    }

    private static Saved parse(Path dir, Map<String, Section> sections) throws SnapshotException {
        Map<String, Section> left = new LinkedHashMap<>(sections);
        VmSpec spec;
        try {
            spec = VmSpecJson.read(new String(take(left, "spec").payload(), StandardCharsets.UTF_8));
        } catch (FieldException e) {
            throw new SnapshotException("section spec: " + e.getMessage(), e);
        }
        StateReader memory = take(left, "memory").reader();
        List<RegionSpec> regions = X86Arch.regions(spec.boot(), spec.memory().bytes());
        int count = memory.i32("regions");
        if (count != regions.size()) throw memory.fail("regions", count + " regions, the spec's memory has " + regions.size());
        for (RegionSpec r : regions) {
            long base = memory.i64("base");
            long size = memory.i64("size");
            if (base != r.guestBase() || size != r.size()) {
                throw memory.fail("regions", "0x" + Long.toHexString(base) + "+" + size + " is not where the spec puts memory (0x"
                        + Long.toHexString(r.guestBase()) + "+" + r.size() + ")");
            }
        }
        memory.end();
        List<DiskRecord> disks = new ArrayList<>();
        StateReader d = take(left, "disks").reader();
        int diskCount = d.i32("disks");
        if (diskCount != spec.disks().size()) throw d.fail("disks", diskCount + " disks, the spec has " + spec.disks().size());
        for (int i = 0; i < diskCount; i++) {
            Path path = Path.of(new String(d.bytes("disks[" + i + "].path", MAX_PATH_BYTES), StandardCharsets.UTF_8));
            if (!path.equals(spec.disks().get(i).path())) throw d.fail("disks[" + i + "].path", path + " is not the spec's disk");
            disks.add(new DiskRecord(path, d.i64("disks[" + i + "].size"), d.i64("disks[" + i + "].modified")));
        }
        d.end();
        List<VcpuState> vcpus = new ArrayList<>();
        List<List<CpuidEntry>> cpuids = new ArrayList<>();
        for (int i = 0; i < spec.vcpus(); i++) {
            StateReader v = take(left, "vcpu" + i).reader();
            VcpuState state = VcpuState.read(v);
            v.end();
            boolean linux = spec.boot() instanceof VmSpec.Boot.Linux;
            if (linux != (state.lapic().length != 0)) {
                throw v.fail("lapic", linux ? "missing, but a Linux guest has one" : "present, but the stub guest has none");
            }
            vcpus.add(state);
            cpuids.add(readCpuid(take(left, "vcpu" + i + ".cpuid").reader()));
        }
        Optional<VmState> vm = Optional.empty();
        if (spec.boot() instanceof VmSpec.Boot.Linux) {
            StateReader v = take(left, "vm").reader();
            vm = Optional.of(VmState.read(v));
            v.end();
        }
        // What is left are the devices'; the restore takes each by name, and refuses a section no device took.
        return new Saved(dir, spec, List.copyOf(regions), List.copyOf(disks), List.copyOf(vcpus), List.copyOf(cpuids), vm,
                Map.copyOf(left), new ArrayList<>());
    }

    private static List<CpuidEntry> readCpuid(StateReader in) throws SnapshotException {
        int count = in.i32("entries");
        if (count < 1 || count > MAX_CPUID_ENTRIES) throw in.fail("entries", Integer.toUnsignedString(count) + " is not 1.." + MAX_CPUID_ENTRIES);
        List<CpuidEntry> entries = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            entries.add(new CpuidEntry(in.i32("function"), in.i32("index"), in.i32("flags"), in.i32("eax"), in.i32("ebx"), in.i32("ecx"),
                    in.i32("edx")));
        }
        in.end();
        return entries;
    }

    /** The memory file and the disks, as the state file says they were. */
    private static void checkFiles(Saved saved) throws SnapshotException {
        Path memory = saved.memoryFile();
        long expected = saved.regions().stream().mapToLong(RegionSpec::size).sum();
        long size = size(memory, memory + ": no such file", memory.toString());
        if (size != expected) {
            throw new SnapshotException(memory + ": " + size + " bytes, but the snapshot's guest has " + expected + " bytes of memory (truncated?)");
        }
        for (int i = 0; i < saved.disks().size(); i++) {
            DiskRecord disk = saved.disks().get(i);
            String field = "disks[" + i + "]: " + disk.path();
            long now = size(disk.path(), field + ": missing (the snapshot's guest uses it)", field);
            if (now != disk.size()) {
                throw new SnapshotException(field + ": " + now + " bytes, but " + disk.size() + " when the snapshot was taken (its size changed)");
            }
            try {
                if (Files.getLastModifiedTime(disk.path()).toMillis() != disk.modifiedMillis()) {
                    saved.warnings().add(field + ": modified since the snapshot was taken; the guest's view of it may be stale");
                }
            } catch (IOException e) {
                throw new SnapshotException(field + ": cannot read: " + e.getMessage(), e);
            }
        }
    }

    private static long size(Path file, String missing, String name) throws SnapshotException {
        try {
            return Files.size(file);
        } catch (NoSuchFileException e) {
            throw new SnapshotException(missing, e);
        } catch (IOException e) {
            throw new SnapshotException(name + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * The CPUID registers whose feature bits a guest may use: a restore refuses a host whose
     * guest CPUID lacks a bit the snapshot's guest saw (leaf 1, leaf 7.0, XSAVE's 0xD.0 XCR0 bits
     * and 0xD.1, extended leaf 0x80000001).
     */
    private record FeatureRegister(int function, int index, char register) {
    }

    private static final List<FeatureRegister> FEATURE_REGISTERS = List.of(
            new FeatureRegister(1, 0, 'c'), new FeatureRegister(1, 0, 'd'),
            new FeatureRegister(7, 0, 'b'), new FeatureRegister(7, 0, 'c'), new FeatureRegister(7, 0, 'd'),
            new FeatureRegister(0xD, 0, 'a'), new FeatureRegister(0xD, 0, 'd'), new FeatureRegister(0xD, 1, 'a'),
            new FeatureRegister(0x8000_0001, 0, 'c'), new FeatureRegister(0x8000_0001, 0, 'd'));

    private static int register(CpuidEntry e, char r) {
        return switch (r) {
            case 'a' -> e.eax();
            case 'b' -> e.ebx();
            case 'c' -> e.ecx();
            default -> e.edx();
        };
    }

    private static Optional<CpuidEntry> leaf(List<CpuidEntry> entries, int function, int index) {
        return entries.stream().filter(e -> e.function() == function && e.index() == index).findFirst();
    }

    /**
     * Checks that this host can give the guest what it saw: every feature bit of its CPUID that
     * this host's guest CPUID (as a fresh VM here would get it) has too, and every saved MSR.
     *
     * @throws SnapshotException naming the CPUID register and bits, or the MSR, that this host lacks
     */
    static void checkHost(Saved saved, Kvm kvm) throws SnapshotException {
        List<io.aether.kvm.CpuidEntry> supported = X86Arch.hostCpuid(kvm);
        boolean tscDeadline = X86Arch.hostTscDeadline(kvm);
        for (int i = 0; i < saved.cpuids().size(); i++) {
            List<CpuidEntry> here = X86Vcpus.guestCpuid(supported, i, saved.vcpus().size(), tscDeadline);
            for (FeatureRegister f : FEATURE_REGISTERS) {
                Optional<CpuidEntry> theirs = leaf(saved.cpuids().get(i), f.function(), f.index());
                if (theirs.isEmpty()) continue;
                int ours = leaf(here, f.function(), f.index()).map(e -> register(e, f.register())).orElse(0);
                int lacking = register(theirs.get(), f.register()) & ~ours;
                if (lacking != 0) {
                    throw new SnapshotException("this host's CPU lacks CPUID.(EAX=0x" + Integer.toHexString(f.function()) + ",ECX=" + f.index()
                            + "):E" + Character.toUpperCase(f.register()) + "X bits 0x" + Integer.toHexString(lacking)
                            + ", which the snapshot's guest uses");
                }
            }
        }
        List<Integer> msrs = VcpuState.savedMsrs(X86Arch.hostMsrs(kvm));
        for (VcpuState v : saved.vcpus()) {
            for (var m : v.msrs()) {
                if (!msrs.contains(m.index())) {
                    throw new SnapshotException("this host's KVM cannot load MSR 0x" + Integer.toHexString(m.index()) + ", which the snapshot's guest uses");
                }
            }
        }
    }

    /** Loads every device's saved state into the VM just built; refuses a section no device took. */
    static void restoreDevices(Saved saved, DeviceManager devices) throws SnapshotException {
        Map<String, Section> left = new LinkedHashMap<>(saved.devices());
        for (Device device : devices.devices()) {
            String name = device.name();
            switch (device) {
                case Device.Uart u -> {
                    StateReader in = saved.section(name);
                    Serial16550.State s = Serial16550.State.read(in);
                    in.end();
                    in.build(() -> {
                        u.model().restore(s);
                        return s;
                    });
                    left.remove(name);
                }
                case Device.Virtio v -> {
                    StateReader t = saved.section(name + ".transport");
                    VirtioMmioTransport.State transport = VirtioMmioTransport.State.read(t);
                    t.end();
                    t.build(() -> {
                        v.transport().restore(transport);
                        return transport;
                    });
                    StateReader in = saved.section(name);
                    switch (v) {
                        case Device.Block b -> {
                            VirtioBlock.State s = VirtioBlock.State.read(in);
                            in.build(() -> {
                                b.model().restore(s);
                                return s;
                            });
                        }
                        case Device.Net n -> {
                            VirtioNet.State s = VirtioNet.State.read(in);
                            in.build(() -> {
                                n.model().restore(s);
                                return s;
                            });
                        }
                        case Device.Rng r -> { }
                    }
                    in.end();
                    left.remove(name + ".transport");
                    left.remove(name);
                }
                case Device.Keyboard k -> {
                    StateReader in = saved.section(name);
                    I8042.State s = I8042.State.read(in);
                    in.end();
                    in.build(() -> {
                        k.model().restore(s);
                        return s;
                    });
                    left.remove(name);
                }
                case Device.AcpiPower a -> { }
            }
        }
        if (!left.isEmpty()) {
            throw new SnapshotException(saved.dir().resolve(STATE_FILE) + ": section " + left.keySet().iterator().next()
                    + " belongs to no device of this VM");
        }
    }

    /**
     * Builds the VM of the snapshot in {@code dir}, its memory mapped from the memory file
     * (lazily, copy-on-write), every state loaded; nothing runs until {@link MicroVm#start}.
     * Warnings (a disk modified since) go to {@code warnings}.
     *
     * @throws SnapshotException naming the file, section or field, if the snapshot is missing,
     *     truncated, corrupt, of another format version, inconsistent, or needs what this host or
     *     its files lack; nothing is left created
     */
    public static MicroVm restore(Path dir, OutputStream consoleOut, PrintStream trace, PrintStream warnings) throws SnapshotException {
        return restore(dir, consoleOut, trace, warnings, null);
    }

    /**
     * As {@link #restore(Path, OutputStream, PrintStream, PrintStream)}, on {@code shell} where it
     * fits the snapshot's VM (see {@link MicroVm#create(VmSpec, OutputStream, PrintStream, VmShell)}).
     */
    public static MicroVm restore(Path dir, OutputStream consoleOut, PrintStream trace, PrintStream warnings, VmShell shell)
            throws SnapshotException {
        Saved saved = read(dir);
        if (warnings != null) saved.warnings().forEach(w -> warnings.println("warning: " + w));
        return VmBuilder.restore(saved, consoleOut, trace, shell);
    }

    /** The spec of the snapshot in {@code dir}, once the whole snapshot has been checked. */
    public static VmSpec spec(Path dir) throws SnapshotException {
        return read(dir).spec();
    }
}
