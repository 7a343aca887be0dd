package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.guest.Initramfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NestedImageTest {

    @TempDir
    Path dir;
    private Path hostLibrary;
    private Path qemu;
    private NestedImage image;

    @BeforeEach
    void fakeInputs() throws IOException {
        Path busybox = Files.writeString(dir.resolve("busybox"), "busybox");
        List<NestedImage.ModuleLoad> modules = List.of(
                new NestedImage.ModuleLoad(Files.writeString(dir.resolve("irqbypass.ko"), "ko"), ""),
                new NestedImage.ModuleLoad(Files.writeString(dir.resolve("kvm.ko"), "ko"), ""),
                new NestedImage.ModuleLoad(Files.writeString(dir.resolve("kvm-amd.ko"), "ko"), "nested=1"),
                new NestedImage.ModuleLoad(Files.writeString(dir.resolve("tun.ko"), "ko"), ""));
        Path jdk = Files.createDirectories(dir.resolve("jdk/bin"));
        Files.writeString(jdk.resolve("java"), "java");
        Files.createDirectories(dir.resolve("jdk/lib/server"));
        Files.writeString(dir.resolve("jdk/lib/server/libjvm.so"), "jvm");
        Path jar = Files.writeString(dir.resolve("a.jar"), "jar");
        Path classes = Files.createDirectories(dir.resolve("classes/io/x"));
        Files.writeString(classes.resolve("Y.class"), "class");
        hostLibrary = Path.of("/bin/sh").toRealPath();
        qemu = Files.writeString(dir.resolve("qemu-system-x86_64"), "qemu");
        Scenario scenario = Scenario.script("echo hi\n").text("data.txt", "x").withQemu().build();
        image = new NestedImage(busybox, List.of("bin/busybox", "bin/sh", "sbin/insmod", ""), modules,
                Optional.of(dir.resolve("jdk")), List.of(jar, dir.resolve("classes")), "-Xshare:auto",
                Set.of(hostLibrary), Set.of(qemu), Optional.of(qemu),
                Files.writeString(dir.resolve("vmlinuz"), "kernel"), Files.writeString(dir.resolve("initrd"), "initrd"),
                scenario);
    }

    @Test
    void holdsEverythingAtItsPlace() throws IOException {
        Initramfs layout = image.layout();
        assertEquals(new Initramfs.CharDevice(0600, 5, 1), layout.get("dev/console"));
        assertEquals(new Initramfs.Symlink("/bin/busybox"), layout.get("sbin/insmod"));
        assertEquals(new Initramfs.HostFile(dir.resolve("kvm-amd.ko")), content(layout, "lib/modules/kvm-amd.ko"));
        assertEquals(new Initramfs.HostFile(dir.resolve("jdk/lib/server/libjvm.so")), content(layout, "opt/jdk/lib/server/libjvm.so"));
        assertEquals(new Initramfs.HostFile(dir.resolve("a.jar")), content(layout, "aether/lib/00-a.jar"));
        assertEquals(new Initramfs.HostFile(dir.resolve("classes/io/x/Y.class")),
                content(layout, "aether/lib/01-classes/io/x/Y.class"));
        assertEquals(new Initramfs.HostFile(hostLibrary), content(layout, hostLibrary.toString()), "libraries at their host paths");
        assertEquals(new Initramfs.HostFile(qemu), content(layout, qemu.toString()));
        assertEquals(new Initramfs.HostFile(dir.resolve("vmlinuz")), content(layout, "guest/vmlinuz"));
        assertEquals(new Initramfs.HostFile(dir.resolve("initrd")), content(layout, "guest/initramfs.cpio.gz"));
        assertEquals("x", text(layout, "scenario/data.txt"));
        assertEquals("echo hi\n", text(layout, "scenario/run.sh"));
        assertEquals(0755, assertInstanceOf(Initramfs.RegularFile.class, layout.get("scenario/run.sh")).permissions());
        assertEquals("""
                #!/bin/sh
                # Runs Aether's CLI for a test scenario (written by io.aether.testhost).
                exec '/opt/jdk/bin/java' -Xshare:auto -cp '/aether/lib/00-a.jar:/aether/lib/01-classes' io.aether.cli.Main "$@"
                """, text(layout, "scenario/bin/aether"));
        assertEquals(List.of("/aether/lib/00-a.jar", "/aether/lib/01-classes"), image.guestClasspath());
    }

    /**
     * Runs L1's /init under the host's sh with every command it calls stubbed and its serial
     * ports and OOM score as files, and checks the sequence on each port.
     */
    @Test
    void initLoadsModulesRunsTheScenarioOnTtyS0AndBeatsOnTtyS1() throws Exception {
        Path ttyS0 = dir.resolve("ttyS0");
        Path ttyS1 = dir.resolve("ttyS1");
        Path oomScore = dir.resolve("oom_score_adj");
        Path init = Files.writeString(dir.resolve("init"), image.initScript()
                .replace(NestedImage.CONSOLE, ttyS0.toString())
                .replace(NestedImage.HOST_CHANNEL, ttyS1.toString())
                .replace("/proc/self/oom_score_adj", oomScore.toString()));
        Path stubs = Files.writeString(dir.resolve("stubs"), """
                log() { echo "CALL $*"; }
                mount() { log mount "$@"; }
                mkdir() { log mkdir "$@"; }
                insmod() { log insmod "$@"; }
                ip() { log ip "$@"; }
                stty() { log stty "$@"; }
                cd() { log cd "$@"; }
                sleep() { log sleep "$@"; exit 0; }
                sh() { log sh "$@"; echo "QEMU=$QEMU AETHER=$AETHER GUEST_KERNEL=$GUEST_KERNEL"; return 3; }
                poweroff() { log poweroff "$@"; wait; exit 0; }
                """);
        Process p = new ProcessBuilder("/bin/sh", "-c", ". " + stubs + "; . " + init).redirectErrorStream(true).start();
        String beforeRedirect = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("""
                CALL mount -t proc proc /proc
                CALL mount -t sysfs sysfs /sys
                CALL mount -t devtmpfs devtmpfs /dev
                """, beforeRedirect, "until /dev is mounted, the init speaks on the kernel's console (ttyS1)");
        List<String> console = Files.readString(ttyS0).lines().filter(l -> !l.startsWith("aether-l1: no /dev/kvm")).toList();
        assertEquals(List.of(
                "CALL mkdir -p /dev/pts /dev/shm",
                "CALL mount -t devpts devpts /dev/pts",
                "CALL mount -t tmpfs tmpfs /dev/shm",
                "CALL insmod /lib/modules/irqbypass.ko",
                "CALL insmod /lib/modules/kvm.ko",
                "CALL insmod /lib/modules/kvm-amd.ko nested=1",
                "CALL insmod /lib/modules/tun.ko",
                "CALL ip link set lo up",
                "CALL stty -F " + ttyS0 + " raw -echo",
                NestedImage.READY,
                "CALL cd /scenario",
                "CALL sh ./run.sh",
                "QEMU=" + qemu + " AETHER=/scenario/bin/aether GUEST_KERNEL=/guest/vmlinuz",
                "",
                "AETHER-L1-EXIT 3",
                "CALL poweroff -f"), console);
        List<String> channel = Files.readString(ttyS1).lines().toList();
        assertEquals(2, channel.size(), channel.toString());
        assertTrue(channel.get(0).matches("AETHER-L1-ALIVE [0-9]+\\.[0-9]+"), "the heartbeat carries L1's uptime: " + channel);
        assertEquals("CALL sleep 5", channel.get(1));
        assertEquals("-1000", Files.readString(oomScore).strip(), "the OOM killer spares the heartbeat");
    }

    @Test
    void refusesRelativeHostPathsAndOddModuleParameters() {
        assertThrows(IllegalArgumentException.class, () -> new NestedImage.ModuleLoad(Path.of("kvm.ko"), "nested=1; reboot"));
        assertThrows(IllegalArgumentException.class, () -> new NestedImage(image.busybox(), List.of(), List.of(),
                Optional.empty(), List.of(), "", Set.of(Path.of("lib/libc.so.6")), Set.of(), Optional.empty(),
                image.guestKernel(), image.guestInitrd(), image.scenario()));
        assertThrows(IllegalArgumentException.class, () -> new NestedImage(image.busybox(), List.of(), List.of(),
                Optional.empty(), List.of(), "", Set.of(), Set.of(), Optional.of(qemu),
                image.guestKernel(), image.guestInitrd(), image.scenario()));
    }

    private static Initramfs.Content content(Initramfs layout, String path) {
        return assertInstanceOf(Initramfs.RegularFile.class, layout.get(path), path).content();
    }

    private static String text(Initramfs layout, String path) {
        return assertInstanceOf(Initramfs.Bytes.class, content(layout, path)).text();
    }
}
