package io.aether.vmspec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.common.MacAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(30)
class VmSpecTest {

    private static final VmSpec LINUX = VmSpec.linux(Path.of("vmlinuz"));

    private static String refusal(Supplier<VmSpec> spec) {
        return assertThrows(FieldException.class, spec::get).getMessage();
    }

    private static VmSpec.Nic nic(String tap) {
        return new VmSpec.Nic(tap, Optional.empty());
    }

    @Test
    void defaultsAreThoseTheCommandLineAndTheApiPromise() {
        assertEquals(new VmSpec(new VmSpec.Boot.Linux(Path.of("vmlinuz"), Optional.empty(), "console=ttyS0 panic=-1"),
                ByteSize.ofMiB(256), 1, List.of(), List.of(), VmSpec.OnReboot.EXIT), LINUX);
        assertEquals(ByteSize.ofMiB(16), VmSpec.stub(VmSpec.StubProgram.ECHO).memory());
    }

    @Test
    void eachBadValueIsRefusedNamingItsField() {
        assertEquals("memory: 8M is too small (at least 16M)", refusal(() -> LINUX.withMemory(ByteSize.ofMiB(8))));
        assertEquals("memory: 2048G is too large (at most 1024G)", refusal(() -> LINUX.withMemory(ByteSize.ofMiB(2L << 20))));
        assertEquals("memory: 16781313 is not a multiple of 4K", refusal(() -> LINUX.withMemory(new ByteSize((16 << 20) + 4097))));
        assertEquals("vcpus: 0 is out of range (1 to 254)", refusal(() -> LINUX.withVcpus(0)));
        assertEquals("vcpus: 255 is out of range (1 to 254)", refusal(() -> LINUX.withVcpus(255)));
        assertEquals("boot.kernel: empty path", refusal(() -> VmSpec.linux(Path.of(""))));
        assertEquals("boot.initrd: empty path", refusal(() -> LINUX.withBoot(
                new VmSpec.Boot.Linux(Path.of("k"), Optional.of(Path.of("")), ""))));
        assertEquals("boot.cmdline: contains a NUL character", refusal(() -> LINUX.withBoot(
                new VmSpec.Boot.Linux(Path.of("k"), Optional.empty(), "a\0b"))));
        assertEquals("boot.stub: 'nope' is not hello, echo, count, crash, keyboard or hypercall", refusal(() -> VmSpec.stub(VmSpec.StubProgram.parse("nope"))));
        assertEquals("onReboot: 'later' is not exit or restart", assertThrows(FieldException.class,
                () -> VmSpec.OnReboot.parse("later")).getMessage());
        assertEquals("disks[1].path: empty path", refusal(() -> LINUX.withDisks(List.of(
                new VmSpec.Disk(Path.of("a.img"), false), new VmSpec.Disk(Path.of(""), true)))));
        assertEquals("disks[1].path: ./a.img is already disks[0]", refusal(() -> LINUX.withDisks(List.of(
                new VmSpec.Disk(Path.of("a.img"), false), new VmSpec.Disk(Path.of("./a.img"), true)))));
        assertEquals("nics[0].tap: '' is not an interface name (1 to 15 characters, no '/' or spaces)",
                refusal(() -> LINUX.withNics(List.of(nic("")))));
        assertEquals("nics[0].tap: 'a-name-too-long!' is not an interface name (1 to 15 characters, no '/' or spaces)",
                refusal(() -> LINUX.withNics(List.of(nic("a-name-too-long!")))));
        assertEquals("nics[1].tap: 'tap 1' is not an interface name (1 to 15 characters, no '/' or spaces)",
                refusal(() -> LINUX.withNics(List.of(nic("tap0"), nic("tap 1")))));
        assertEquals("nics[0].tap: 'tap?0' is not an interface name (1 to 15 characters, no '/' or spaces)",
                refusal(() -> LINUX.withNics(List.of(nic("tap\n0")))));
        assertEquals("nics[1].tap: tap0 is already nics[0]'s", refusal(() -> LINUX.withNics(List.of(nic("tap0"), nic("tap0")))));
        MacAddress mac = MacAddress.parse("02:00:00:00:00:01");
        assertEquals("nics[1].mac: 02:00:00:00:00:01 is already nics[0]'s", refusal(() -> LINUX.withNics(List.of(
                new VmSpec.Nic("tap0", Optional.of(mac)), new VmSpec.Nic("tap1", Optional.of(mac))))));
        List<VmSpec.Disk> nineteen = java.util.stream.IntStream.range(0, 19).mapToObj(i -> new VmSpec.Disk(Path.of(i + ".img"), true)).toList();
        assertEquals("disks: 19 disks and 0 NICs are more than a VM has room for (18 together)", refusal(() -> LINUX.withDisks(nineteen)));
        assertEquals("nics: 17 disks and 2 NICs are more than a VM has room for (18 together)",
                refusal(() -> LINUX.withDisks(nineteen.subList(0, 17)).withNics(List.of(nic("tap0"), nic("tap1")))));
    }

    @Test
    void theStubGuestTakesOneVcpuAndNoDevices() {
        VmSpec stub = VmSpec.stub(VmSpec.StubProgram.HELLO);
        assertEquals("vcpus: the stub guest runs on 1 vCPU, not 2", refusal(() -> stub.withVcpus(2)));
        assertEquals("disks: the stub guest has no disks", refusal(() -> stub.withDisks(List.of(new VmSpec.Disk(Path.of("a"), true)))));
        assertEquals("nics: the stub guest has no network devices", refusal(() -> stub.withNics(List.of(nic("tap0")))));
        assertEquals(ByteSize.ofMiB(64), stub.withMemory(ByteSize.ofMiB(64)).memory());
    }

    @Test
    void eachNicGetsItsOwnLocallyAdministeredAddressStableForTheVm() {
        VmSpec two = LINUX.withNics(List.of(nic("tap0"), nic("tap1")));
        // Expected values from coreutils: printf '%s' 'aether-nic:vm-1/0' | sha256sum -> feea3c29cfcc...,
        // 'aether-nic:vm-1/1' -> 94f162dbadd4..., 'aether-nic:vm-2/0' -> a2a76826979f...; then the first
        // octet with bit 1 (locally administered) set and bit 0 (group) clear.
        VmSpec vm1 = two.withMacsFor("vm-1");
        assertEquals(Optional.of(MacAddress.parse("fe:ea:3c:29:cf:cc")), vm1.nics().get(0).mac());
        assertEquals(Optional.of(MacAddress.parse("96:f1:62:db:ad:d4")), vm1.nics().get(1).mac());
        assertEquals(Optional.of(MacAddress.parse("a2:a7:68:26:97:9f")), two.withMacsFor("vm-2").nics().get(0).mac());
        assertEquals(vm1, two.withMacsFor("vm-1"), "the same VM gets the same addresses");
        assertEquals(vm1, vm1.withMacsFor("another id"), "chosen addresses stay");
        assertNotEquals(vm1.nics().get(0).mac(), vm1.nics().get(1).mac());
        for (int i = 0; i < 200; i++) {
            long value = VmSpec.derivedMac("vm-" + i, i % 3).value();
            assertEquals(0b10, value >>> 40 & 0b11, "locally administered, unicast: " + new MacAddress(value));
        }
        MacAddress given = MacAddress.parse("52:54:00:00:00:07");
        VmSpec mixed = LINUX.withNics(List.of(new VmSpec.Nic("tap0", Optional.of(given)), nic("tap1"))).withMacsFor("vm-1");
        assertEquals(Optional.of(given), mixed.nics().get(0).mac());
        assertEquals(vm1.nics().get(1).mac(), mixed.nics().get(1).mac());
        assertThrows(IllegalArgumentException.class, () -> two.withMacsFor(""));
    }

    @Test
    void theHostCheckNamesTheFileOrTheLimitItCannotServe(@TempDir Path dir) throws Exception {
        Path kernel = Files.writeString(dir.resolve("vmlinuz"), "k");
        Path disk = Files.writeString(dir.resolve("disk.img"), "d");
        VmSpec ok = VmSpec.linux(kernel).withVcpus(4).withDisks(List.of(new VmSpec.Disk(disk, false)));
        ok.checkHost(4);
        assertEquals("vcpus: 4 is out of range (1 to 2 on this host)", assertThrows(FieldException.class, () -> ok.checkHost(2)).getMessage());
        assertEquals("boot.kernel: no such file: " + dir.resolve("none"),
                assertThrows(FieldException.class, () -> VmSpec.linux(dir.resolve("none")).checkHost(1)).getMessage());
        assertEquals("boot.kernel: not a regular file: " + dir, assertThrows(FieldException.class, () -> VmSpec.linux(dir).checkHost(1)).getMessage());
        VmSpec missingInitrd = ok.withBoot(new VmSpec.Boot.Linux(kernel, Optional.of(dir.resolve("initrd")), ""));
        assertEquals("boot.initrd: no such file: " + dir.resolve("initrd"), assertThrows(FieldException.class, () -> missingInitrd.checkHost(4)).getMessage());
        VmSpec missingDisk = ok.withDisks(List.of(new VmSpec.Disk(disk, true), new VmSpec.Disk(dir.resolve("gone.img"), true)));
        assertEquals("disks[1].path: no such file: " + dir.resolve("gone.img"), assertThrows(FieldException.class, () -> missingDisk.checkHost(4)).getMessage());
    }
}
