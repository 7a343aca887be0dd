package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.arch.x86_64.StubGuest;
import io.aether.common.ByteSize;
import io.aether.kvm.Kvm;
import io.aether.snapshot.Section;
import io.aether.snapshot.SnapshotException;
import io.aether.snapshot.StateFile;
import io.aether.vmspec.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Snapshots written from paused VMs and restored into fresh ones, on the host's KVM; and every refusal of a bad one. */
@Timeout(120)
class VmSnapshotTest {

    @TempDir
    Path dir;

    /** Runs a COUNT guest until it printed {@code bytes}, pauses it and snapshots it into {@code snapshot}; returns its output. */
    private static String countAndSnapshot(Path snapshot, int bytes) throws Exception {
        StubGuestTest.requireKvm();
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.COUNT), console, null)) {
            vm.start();
            VmBuilderTest.awaitOutput(console, bytes);
            vm.pause();
            vm.snapshot(snapshot, null);
            return console.toString(StandardCharsets.US_ASCII);
        }
    }

    @Test
    void aCountingGuestRestoredIntoAFreshVmCountsOnFromWhereItStopped() throws Exception {
        Path snapshot = dir.resolve("snap");
        String before = countAndSnapshot(snapshot, StubGuest.MESSAGE.length() + 1000 + 7);
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = VmSnapshot.restore(snapshot, console, null, null)) {
            assertEquals(RunState.CREATED, vm.state());
            vm.start();
            VmBuilderTest.awaitOutput(console, 500);
            vm.requestStop(new StopReason.Requested("test"));
            vm.awaitStop();
        }
        String after = console.toString(StandardCharsets.US_ASCII);
        assertTrue(!after.startsWith(StubGuest.MESSAGE), "the restored guest does not start again: " + after.substring(0, 20));
        MicroVmPauseTest.assertCountedInOrder(before + after);
    }

    @Test
    void aCountingGuestRestoredOnAShellMadeAheadCountsOn() throws Exception {
        Path snapshot = dir.resolve("snap");
        String before = countAndSnapshot(snapshot, StubGuest.MESSAGE.length() + 1000 + 7);
        var console = new ByteArrayOutputStream();
        try (VmShell shell = VmShell.prebuild().orElseThrow();
             MicroVm vm = VmSnapshot.restore(snapshot, console, null, null, shell)) {
            assertTrue(shell.taken(), "the restore took the shell");
            vm.start();
            VmBuilderTest.awaitOutput(console, 500);
            vm.requestStop(new StopReason.Requested("test"));
            vm.awaitStop();
        }
        String after = console.toString(StandardCharsets.US_ASCII);
        assertTrue(!after.startsWith(StubGuest.MESSAGE), "the restored guest does not start again: " + after.substring(0, 20));
        MicroVmPauseTest.assertCountedInOrder(before + after);
    }

    @Test
    void aPauseThatLandsWhileAnOutputIsBeingHandledNeitherLosesNorRepeatsIt() throws Exception {
        StubGuestTest.requireKvm();
        Path snapshot = dir.resolve("snap");
        int stopAt = StubGuest.MESSAGE.length() + 205;
        var console = new ByteArrayOutputStream();
        var failure = new java.util.concurrent.CompletableFuture<Void>();
        MicroVm[] vm = new MicroVm[1];
        // The console is written on the vCPU thread while it handles the OUT exit: the pause is asked for right then,
        // so the vCPU parks with that OUT's instruction not yet complete, which only the next entry finishes.
        var out = new java.io.OutputStream() {
            @Override
            public synchronized void write(int b) {
                console.write(b);
                if (console.size() != stopAt) return;
                Thread.ofPlatform().start(() -> {
                    try {
                        vm[0].pause();
                        vm[0].snapshot(snapshot, null);
                        failure.complete(null);
                    } catch (Exception e) {
                        failure.completeExceptionally(e);
                    }
                });
                try {
                    Thread.sleep(300); // the pause's kick lands while this exit is handled
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (MicroVm running = MicroVm.create(VmSpec.stub(VmSpec.StubProgram.COUNT), out, null)) {
            vm[0] = running;
            running.start();
            failure.get(60, java.util.concurrent.TimeUnit.SECONDS);
        }
        String before;
        synchronized (out) {
            before = console.toString(StandardCharsets.US_ASCII);
        }
        assertEquals(stopAt, before.length(), "paused right after the output it was handling");
        var restored = new ByteArrayOutputStream();
        try (MicroVm again = VmSnapshot.restore(snapshot, restored, null, null)) {
            again.start();
            VmBuilderTest.awaitOutput(restored, 50);
            again.requestStop(new StopReason.Requested("test"));
            again.awaitStop();
        }
        MicroVmPauseTest.assertCountedInOrder(before + restored.toString(StandardCharsets.US_ASCII));
    }

    @Test
    void theMemoryFileHoldsTheGuestsPagesAtTheirAddressesAndHolesForZeroPages() throws Exception {
        Path snapshot = dir.resolve("snap");
        countAndSnapshot(snapshot, 100);
        Path memory = snapshot.resolve(VmSnapshot.MEMORY_FILE);
        assertEquals(VmSpec.STUB_MEMORY.bytes(), Files.size(memory));
        try (RandomAccessFile file = new RandomAccessFile(memory.toFile(), "r")) {
            // The stub's tables and code as its assembler made them: the memory file is guest-physical memory, byte for byte.
            for (StubGuest.Chunk chunk : StubGuest.image(StubGuest.Program.COUNT)) {
                byte[] read = new byte[chunk.bytes().length];
                file.seek(chunk.address());
                file.readFully(read);
                assertArrayEquals(chunk.bytes(), read, "the chunk at 0x" + Long.toHexString(chunk.address()));
            }
        }
        long blocks = Long.parseLong(new String(new ProcessBuilder("stat", "-c", "%b", memory.toString()).start().getInputStream()
                .readAllBytes(), StandardCharsets.US_ASCII).trim());
        assertTrue(blocks * 512 < 1 << 20, "a 16 MiB guest that touched a few pages takes " + blocks + " blocks: zero pages are holes");
    }

    @Test
    void aLinuxMachineWithADiskIsRestoredWithEveryDeviceAndChipState() throws Exception {
        StubGuestTest.requireKvm();
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(ByteSize.ofMiB(32))
                .withDisks(List.of(new VmSpec.Disk(disk, false)));
        Path first = dir.resolve("first");
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(spec, console, null)) {
            vm.start();
            VmBuilderTest.awaitOutput(console, 50);
            vm.pause();
            VmSnapshot.Written w = vm.snapshot(first, null);
            assertEquals(32L << 20, w.memoryBytes());
            assertEquals(Files.size(first.resolve(VmSnapshot.STATE_FILE)), w.stateBytes());
        }
        // Restored and snapshotted again before a single instruction: every device's and chip's state comes back as it was saved.
        Path second = dir.resolve("second");
        var again = new ByteArrayOutputStream();
        try (MicroVm vm = VmSnapshot.restore(first, again, null, null)) {
            vm.start(true);
            assertEquals(RunState.PAUSED, vm.state());
            vm.snapshot(second, null);
            vm.resume();
            VmBuilderTest.awaitOutput(again, 50);
            vm.requestStop(new StopReason.Requested("test"));
            vm.awaitStop();
        }
        assertTrue(again.toString().chars().allMatch(c -> c == '!'), again.toString());
        List<Section> a = StateFile.read(first.resolve(VmSnapshot.STATE_FILE));
        List<Section> b = StateFile.read(second.resolve(VmSnapshot.STATE_FILE));
        assertEquals(a.stream().map(Section::name).toList(), b.stream().map(Section::name).toList());
        assertEquals(List.of("spec", "memory", "disks", "vcpu0", "vcpu0.cpuid", "vm", "serial", "i8042", "virtio-blk0.transport",
                "virtio-blk0", "virtio-rng0.transport", "virtio-rng0"), a.stream().map(Section::name).toList());
        for (String name : List.of("spec", "memory", "disks", "vcpu0.cpuid", "serial", "i8042", "virtio-blk0.transport", "virtio-blk0",
                "virtio-rng0.transport", "virtio-rng0")) {
            assertEquals(section(a, name), section(b, name), name);
        }
    }

    private static Section section(List<Section> sections, String name) {
        return sections.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private static long openFiles() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.count();
        }
    }

    /** The refusal of the snapshot in {@code snapshot}; checks that the refused restore left nothing open. */
    private static String refusal(Path snapshot) throws IOException {
        long before = openFiles();
        String message = assertThrows(SnapshotException.class, () -> VmSnapshot.restore(snapshot, new ByteArrayOutputStream(), null, null).close())
                .getMessage();
        assertEquals(before, openFiles(), "a refused restore leaves nothing open");
        return message;
    }

    /** A copy of the state file with its sections changed by {@code change}, written whole (valid checksums). */
    private static void rewrite(Path snapshot, UnaryOperator<List<Section>> change) throws IOException {
        Path state = snapshot.resolve(VmSnapshot.STATE_FILE);
        StateFile.write(state, change.apply(new ArrayList<>(StateFile.read(state))));
    }

    private static List<Section> replaced(List<Section> sections, Section with) {
        sections.replaceAll(s -> s.name().equals(with.name()) ? with : s);
        return sections;
    }

    @Test
    void aDamagedOrForeignStateFileIsRefusedNamingTheProblem() throws Exception {
        Path snapshot = dir.resolve("snap");
        countAndSnapshot(snapshot, 100);
        Path state = snapshot.resolve(VmSnapshot.STATE_FILE);
        byte[] good = Files.readAllBytes(state);

        byte[] flipped = good.clone();
        flipped[40] ^= 0x10; // inside the first section's payload (the spec)
        Files.write(state, flipped);
        assertEquals(state + ": section spec: checksum mismatch (corrupt)", refusal(snapshot));

        Files.write(state, java.util.Arrays.copyOf(good, good.length - 100));
        assertTrue(refusal(snapshot).startsWith(state + ": truncated in "), refusal(snapshot));

        byte[] magic = good.clone();
        magic[0] = 'X';
        Files.write(state, magic);
        assertEquals(state + ": not an Aether state file (bad magic)", refusal(snapshot));

        byte[] version = good.clone();
        ByteBuffer.wrap(version).putInt(8, 2); // the format version, big-endian after the 8 magic bytes
        Files.write(state, version);
        assertEquals(state + ": format version 2 is not supported (this build reads version 1)", refusal(snapshot));

        Files.delete(state);
        assertEquals(state + ": no such file (not a snapshot directory?)", refusal(snapshot));

        Files.write(state, good);
        rewrite(snapshot, s -> {
            s.add(new Section("virtio-net0", new byte[0]));
            return s;
        });
        assertEquals(state + ": section virtio-net0 belongs to no device of this VM", refusal(snapshot));
        Files.write(state, good);
        rewrite(snapshot, s -> {
            s.removeIf(x -> x.name().equals("serial"));
            return s;
        });
        assertEquals(state + ": section serial is missing", refusal(snapshot));
    }

    @Test
    void aRestoreRefusedByTheHostCheckLeavesTheShellForTheNextVm() throws Exception {
        Path good = dir.resolve("good");
        countAndSnapshot(good, 100);
        Path foreign = dir.resolve("foreign");
        countAndSnapshot(foreign, 100);
        rewrite(foreign, sections -> {
            byte[] cpuid = section(sections, "vcpu0.cpuid").payload();
            ByteBuffer b = ByteBuffer.wrap(cpuid);
            for (int i = 0; i < b.getInt(0); i++) {
                int at = 4 + i * 28;
                if (b.getInt(at) == 7 && b.getInt(at + 4) == 0) b.putInt(at + 16, b.getInt(at + 16) | 0x8000_0000);
            }
            return replaced(sections, new Section("vcpu0.cpuid", cpuid));
        });
        try (VmShell shell = VmShell.prebuild().orElseThrow()) {
            // Refused inside the build, after the shell was looked at: by then nothing of it may be used.
            SnapshotException refused = assertThrows(SnapshotException.class,
                    () -> VmSnapshot.restore(foreign, new ByteArrayOutputStream(), null, null, shell));
            assertTrue(refused.getMessage().contains("this host's CPU lacks"), refused.getMessage());
            assertTrue(!shell.taken(), "a refused restore leaves the shell");
            var console = new ByteArrayOutputStream();
            try (MicroVm vm = VmSnapshot.restore(good, console, null, null, shell)) {
                assertTrue(shell.taken());
                vm.start();
                VmBuilderTest.awaitOutput(console, 200);
            }
        }
    }

    @Test
    void aGuestRestoredOnAShellRunsWithTheSnapshotsCpuidNotTheShells() throws Exception {
        Path snapshot = dir.resolve("snap");
        countAndSnapshot(snapshot, 100);
        // A guest that saw less than this host offers (CPUID.7.0:EBX's lowest feature bit cleared): the shell's vCPU was given all of it.
        rewrite(snapshot, sections -> {
            byte[] cpuid = section(sections, "vcpu0.cpuid").payload();
            ByteBuffer b = ByteBuffer.wrap(cpuid);
            boolean cleared = false;
            for (int i = 0; i < b.getInt(0); i++) {
                int at = 4 + i * 28;
                int ebx = b.getInt(at + 16);
                if (b.getInt(at) == 7 && b.getInt(at + 4) == 0 && ebx != 0) {
                    b.putInt(at + 16, ebx & (ebx - 1));
                    cleared = true;
                }
            }
            assertTrue(cleared, "the guest's CPUID has features in leaf 7");
            return replaced(sections, new Section("vcpu0.cpuid", cpuid));
        });
        List<io.aether.kvm.CpuidEntry> saved = VmSnapshot.read(snapshot).cpuids().getFirst();
        var console = new ByteArrayOutputStream();
        try (VmShell shell = VmShell.prebuild().orElseThrow();
             MicroVm vm = VmSnapshot.restore(snapshot, console, null, null, shell)) {
            assertTrue(shell.taken());
            vm.start();
            VmBuilderTest.awaitOutput(console, 100);
            vm.pause();
            vm.snapshot(dir.resolve("again"), null);
        }
        assertEquals(List.of(saved), VmSnapshot.read(dir.resolve("again")).cpuids(), "the restored guest's CPUID, once");
    }

    @Test
    void aMemoryFileOfAnotherSizeIsRefused() throws Exception {
        Path snapshot = dir.resolve("snap");
        countAndSnapshot(snapshot, 100);
        Path memory = snapshot.resolve(VmSnapshot.MEMORY_FILE);
        try (RandomAccessFile f = new RandomAccessFile(memory.toFile(), "rw")) {
            f.setLength(f.length() - 4096);
        }
        assertEquals(memory + ": 16773120 bytes, but the snapshot's guest has 16777216 bytes of memory (truncated?)", refusal(snapshot));
        Files.delete(memory);
        assertEquals(memory + ": no such file", refusal(snapshot));
    }

    @Test
    void aRestoresHostCheckAsksKvmNothingTheProcessAskedBefore() throws Exception {
        Path snapshot = dir.resolve("snap");
        countAndSnapshot(snapshot, 100);
        VmSnapshot.Saved saved = VmSnapshot.read(snapshot);
        try (Kvm kvm = Kvm.open()) {
            VmSnapshot.checkHost(saved, kvm);
        }
        // The host's CPUID and MSR list are the same for every VM: a closed KVM, which fails
        // every ioctl, shows that none is asked again (each took ~0.35 ms of a restore here).
        Kvm closed = Kvm.open();
        closed.close();
        assertDoesNotThrow(() -> VmSnapshot.checkHost(saved, closed), "the host check asked a closed KVM");
    }

    @Test
    void aGuestThatUsedACpuFeatureThisHostLacksIsRefused() throws Exception {
        Path snapshot = dir.resolve("snap");
        countAndSnapshot(snapshot, 100);
        // As if taken on a host whose CPU had a feature this one lacks: CPUID.7.0:EBX bit 31 set in the guest's leaf.
        rewrite(snapshot, sections -> {
            byte[] cpuid = section(sections, "vcpu0.cpuid").payload();
            ByteBuffer b = ByteBuffer.wrap(cpuid);
            int count = b.getInt(0);
            boolean found = false;
            for (int i = 0; i < count; i++) {
                int at = 4 + i * 28; // function, index, flags, eax, ebx, ecx, edx: seven u32 each
                if (b.getInt(at) == 7 && b.getInt(at + 4) == 0) {
                    b.putInt(at + 16, b.getInt(at + 16) | 0x8000_0000);
                    found = true;
                }
            }
            assertTrue(found, "the guest's CPUID has leaf 7");
            return replaced(sections, new Section("vcpu0.cpuid", cpuid));
        });
        String message = refusal(snapshot);
        assertTrue(message.matches("cannot restore on this host: this host's CPU lacks CPUID\\.\\(EAX=0x7,ECX=0\\):EBX bits 0x8[0-9a-f]{7}, "
                + "which the snapshot's guest uses"), message);
    }

    @Test
    void aDiskThatIsMissingOrChangedSizeIsRefusedAndOneModifiedIsWarnedAbout() throws Exception {
        StubGuestTest.requireKvm();
        Path disk = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        VmSpec spec = VmSpec.linux(PvhTestKernel.write(dir)).withMemory(ByteSize.ofMiB(32))
                .withDisks(List.of(new VmSpec.Disk(disk, false)));
        Path snapshot = dir.resolve("snap");
        var console = new ByteArrayOutputStream();
        try (MicroVm vm = MicroVm.create(spec, console, null)) {
            vm.start();
            VmBuilderTest.awaitOutput(console, 10);
            vm.pause();
            vm.snapshot(snapshot, null);
        }
        Files.setLastModifiedTime(disk, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(disk).toMillis() - 60_000));
        var warnings = new ByteArrayOutputStream();
        try (MicroVm vm = VmSnapshot.restore(snapshot, new ByteArrayOutputStream(), null, new java.io.PrintStream(warnings, true))) {
            assertEquals(RunState.CREATED, vm.state());
        }
        assertEquals("warning: disks[0]: " + disk + ": modified since the snapshot was taken; the guest's view of it may be stale\n",
                warnings.toString());

        Files.write(disk, new byte[2 << 20]);
        assertEquals("disks[0]: " + disk + ": 2097152 bytes, but 1048576 when the snapshot was taken (its size changed)", refusal(snapshot));
        Files.delete(disk);
        assertEquals("disks[0]: " + disk + ": missing (the snapshot's guest uses it)", refusal(snapshot));
    }
}
