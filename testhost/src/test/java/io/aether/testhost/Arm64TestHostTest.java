package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.guest.Initramfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The arm64 test host's pieces without QEMU: its cache, its initramfs, its /init, its command line. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class Arm64TestHostTest {

    private static final String JAVA = "usr/lib/jvm/java-25-openjdk-arm64/bin/java";

    @TempDir
    Path dir;
    private Path files;
    private Path jar;
    private Path classes;

    /** A cache as a fetch leaves it, with stand-ins for the packages' files. */
    @BeforeEach
    void fakeCache() throws IOException {
        files = Files.createDirectories(dir.resolve("cache/files"));
        Files.write(files.resolve("Image"), arm64ImageHeader());
        Files.writeString(files.resolve("busybox"), "busybox");
        Path sysroot = files.resolve("sysroot");
        Files.createDirectories(sysroot.resolve(JAVA).getParent());
        Files.writeString(sysroot.resolve(JAVA), "java");
        Path libs = Files.createDirectories(sysroot.resolve("usr/lib/aarch64-linux-gnu"));
        Files.writeString(libs.resolve("ld-linux-aarch64.so.1"), "loader");
        Files.createSymbolicLink(sysroot.resolve("usr/lib/ld-linux-aarch64.so.1"), Path.of("aarch64-linux-gnu/ld-linux-aarch64.so.1"));
        Files.createDirectories(sysroot.resolve("etc/java-25-openjdk"));
        Files.writeString(sysroot.resolve("etc/java-25-openjdk/jvm-arm64.cfg"), "-server KNOWN\n");
        Files.writeString(files.resolve("manifest.properties"), "recipe=" + Arm64HostFiles.RECIPE
                + "\npackages=linux-image-6.12.1-cloud-arm64=6.12.1-1 busybox-static=1\\:1.37\n");
        jar = Files.writeString(dir.resolve("aether-kvm.jar"), "jar");
        classes = Files.createDirectories(dir.resolve("test-classes"));
        Files.createDirectories(classes.resolve("io/x"));
        Files.writeString(classes.resolve("io/x/Probe.class"), "class");
    }

    /** 64 bytes with the arm64 Image magic "ARM\x64" at byte 56 (Documentation/arch/arm64/booting.rst). */
    private static byte[] arm64ImageHeader() {
        byte[] header = new byte[64];
        header[56] = 'A';
        header[57] = 'R';
        header[58] = 'M';
        header[59] = 0x64;
        return header;
    }

    private Arm64HostImage image(List<String> arguments) {
        Arm64HostFiles cached = Arm64HostFiles.cached(files).orElseThrow();
        return new Arm64HostImage(cached, new Arm64Program("io.x.Probe", List.of(jar, classes), arguments,
                Duration.ofMinutes(1)), "-Xshare:auto");
    }

    @Test
    void aCompleteCacheOfThisRecipeIsUsedAndAnythingElseIsFetchedAgain() throws IOException {
        Arm64HostFiles cached = Arm64HostFiles.cached(files).orElseThrow();
        assertEquals(List.of("linux-image-6.12.1-cloud-arm64=6.12.1-1", "busybox-static=1:1.37"), cached.packages());
        assertEquals(files.resolve("Image"), cached.kernel());

        Files.writeString(files.resolve("manifest.properties"), "recipe=0\npackages=x=1\n");
        assertTrue(Arm64HostFiles.cached(files).isEmpty(), "an older recipe's cache");
        Files.writeString(files.resolve("manifest.properties"), "recipe=" + Arm64HostFiles.RECIPE + "\npackages=x=1\n");
        Files.delete(files.resolve("sysroot").resolve(JAVA));
        assertTrue(Arm64HostFiles.cached(files).isEmpty(), "a cache without the Java launcher");
        Files.delete(files.resolve("manifest.properties"));
        assertTrue(Arm64HostFiles.cached(files).isEmpty(), "a fetch that never finished");
        assertTrue(Arm64HostFiles.cached(dir.resolve("nowhere")).isEmpty());
    }

    @Test
    void kernelAndProgramsAreRecognisedAsArm64ByTheirHeaders() throws IOException {
        assertTrue(Arm64HostFiles.isArm64Image(files.resolve("Image")));
        byte[] header = arm64ImageHeader();
        header[59] = 0x65;
        assertFalse(Arm64HostFiles.isArm64Image(Files.write(dir.resolve("other"), header)));
        assertFalse(Arm64HostFiles.isArm64Image(Files.writeString(dir.resolve("short"), "ARM")));

        // ELF: 0x7f 'E' 'L' 'F', ..., e_machine at 18, little-endian: 183 (0xB7) is EM_AARCH64, 62 (0x3E) EM_X86_64.
        byte[] elf = new byte[64];
        elf[0] = 0x7F;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        elf[18] = (byte) 0xB7;
        assertTrue(Arm64HostFiles.isArm64Elf(Files.write(dir.resolve("arm64-elf"), elf)));
        elf[18] = 0x3E;
        assertFalse(Arm64HostFiles.isArm64Elf(Files.write(dir.resolve("x86-elf"), elf)));
        assertFalse(Arm64HostFiles.isArm64Elf(files.resolve("busybox")));
    }

    @Test
    void theInitramfsHoldsBusyboxTheRuntimeAndTheClasspath() throws IOException {
        Initramfs layout = image(List.of()).layout();
        assertEquals(new Initramfs.CharDevice(0600, 5, 1), layout.get("dev/console"));
        assertEquals(new Initramfs.HostFile(files.resolve("busybox")), content(layout, "bin/busybox"));
        assertEquals(new Initramfs.Symlink("usr/lib"), layout.get("lib"), "the loader is looked for in /lib");
        assertEquals(new Initramfs.Symlink("aarch64-linux-gnu/ld-linux-aarch64.so.1"), layout.get("usr/lib/ld-linux-aarch64.so.1"));
        assertEquals(new Initramfs.HostFile(files.resolve("sysroot").resolve(JAVA)), content(layout, JAVA));
        assertEquals(new Initramfs.HostFile(files.resolve("sysroot/etc/java-25-openjdk/jvm-arm64.cfg")),
                content(layout, "etc/java-25-openjdk/jvm-arm64.cfg"));
        assertEquals(new Initramfs.HostFile(jar), content(layout, "aether/lib/00-aether-kvm.jar"));
        assertEquals(new Initramfs.HostFile(classes.resolve("io/x/Probe.class")),
                content(layout, "aether/lib/01-test-classes/io/x/Probe.class"));
        assertEquals(0755, assertInstanceOf(Initramfs.RegularFile.class, layout.get("init")).permissions());
    }

    @Test
    void aProgramsFilesLieInAetherFilesUnderTheirNamesAndTwoOfOneNameAreRefused() throws IOException {
        Path kernel = Files.write(dir.resolve("Image"), arm64ImageHeader());
        Path initrd = Files.writeString(dir.resolve("guest.cpio"), "070701");
        Arm64HostImage image = new Arm64HostImage(Arm64HostFiles.cached(files).orElseThrow(),
                new Arm64Program("io.x.Probe", List.of(jar), List.of(), Duration.ofMinutes(1), List.of(kernel, initrd)), "");
        Initramfs layout = image.layout();
        assertEquals(new Initramfs.HostFile(kernel), content(layout, "aether/files/Image"));
        assertEquals(new Initramfs.HostFile(initrd), content(layout, "aether/files/guest.cpio"));
        Path other = Files.createDirectories(dir.resolve("other")).resolve("Image");
        Files.write(other, arm64ImageHeader());
        var twice = assertThrows(IllegalArgumentException.class,
                () -> new Arm64Program("io.x.Probe", List.of(jar), List.of(), Duration.ofMinutes(1), List.of(kernel, other)));
        assertEquals("two files for L1 are called Image", twice.getMessage());
        var missing = assertThrows(IllegalArgumentException.class,
                () -> new Arm64Program("io.x.Probe", List.of(jar), List.of(), Duration.ofMinutes(1), List.of(dir.resolve("gone"))));
        assertEquals("file " + dir.resolve("gone") + " for L1 is not a regular file", missing.getMessage());
    }

    @Test
    void guestModulesAreThoseOfTheHostsKernelPackageAndACompleteCacheIsReused() throws IOException {
        assertEquals(List.of("linux-image-6.12.1-cloud-arm64", "6.12.1-1"),
                Arm64GuestModules.kernelPackage(List.of("busybox-static=1:1.37", "linux-image-6.12.1-cloud-arm64=6.12.1-1")));
        var none = assertThrows(IOException.class, () -> Arm64GuestModules.kernelPackage(List.of("busybox-static=1:1.37")));
        assertEquals("the arm64 host's manifest names no linux-image-* package: [busybox-static=1:1.37]", none.getMessage());
        // An epoch's colon is kept out of the directory name.
        Path cached = Files.createDirectories(dir.resolve("cache/guest-modules/linux-image-x_1%2.0-" + Arm64GuestModules.RECIPE));
        Files.writeString(cached.resolve("complete"), "linux-image-x=1:2.0\n");
        Arm64GuestModules modules = Arm64GuestModules.ensure(dir.resolve("cache"), "linux-image-x", "1:2.0",
                line -> { throw new AssertionError("fetched again: " + line); });
        assertEquals(List.of(cached.resolve("virtio_mmio.ko"), cached.resolve("virtio_blk.ko"), cached.resolve("virtio-rng.ko")),
                modules.files());
    }

    /**
     * Runs L1's /init under the host's sh with every command it calls stubbed, and checks the
     * sequence. Only shell functions can stub commands, so the init must name none by its path:
     * run here, {@code /bin/busybox --install -s /bin} would fill the host's /bin with links.
     */
    @Test
    void initRunsTheProgramAndReportsItsStatusThenPowersOff() throws Exception {
        String script = image(List.of("it's", "two words")).initScript();
        assertTrue(script.lines().skip(1).noneMatch(l -> l.strip().startsWith("/") || l.contains("$(/") || l.contains("| /")),
                "/init calls a command by its path, which no stub can replace:\n" + script);
        Path init = Files.writeString(dir.resolve("init"), script);
        Path stubs = Files.writeString(dir.resolve("stubs"), """
                log() { echo "CALL $*"; }
                busybox() { log busybox "$@"; }
                mount() { log mount "$@"; }
                dmesg() { if [ "$1" = -n ]; then log dmesg "$@"; else echo 'kvm [1]: VHE mode initialized successfully'; fi; }
                cd() { log cd "$@"; }
                java() { log java "$@"; echo "JAVA_HOME=$JAVA_HOME"; return 7; }
                poweroff() { log poweroff "$@"; exit 0; }
                """);
        Process p = new ProcessBuilder("/bin/sh", "-c", ". " + stubs + "; . " + init).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        // Whether this machine has /dev/kvm, and its uptime and kernel, vary: those lines are checked by their start.
        List<String> log = out.lines().map(l -> l.startsWith("AETHER-ARM64-KVM ") ? "AETHER-ARM64-KVM ..." : l)
                .map(l -> l.replaceFirst("^(AETHER-ARM64-L1|AETHER-ARM64-EXIT 7) uptime=.*", "$1 uptime=..."))
                .toList();
        assertEquals(List.of(
                "CALL busybox mount -t proc proc /proc",
                "CALL busybox --install -s /bin",
                "CALL mount -t sysfs sysfs /sys",
                "CALL mount -t devtmpfs devtmpfs /dev",
                "CALL mount -t tmpfs tmpfs /tmp",
                "AETHER-ARM64-KVM ...",
                "AETHER-ARM64-L1 uptime=...",
                "CALL dmesg -n 1",
                "CALL cd /aether",
                "CALL java -Xshare:auto -cp /aether/lib/00-aether-kvm.jar:/aether/lib/01-test-classes io.x.Probe it's two words",
                "JAVA_HOME=/usr/lib/jvm/java-25-openjdk-arm64",
                "",
                "AETHER-ARM64-EXIT 7 uptime=...",
                "CALL poweroff -f"), log);
        if (Files.exists(Path.of("/dev/kvm"))) {
            assertTrue(out.contains("AETHER-ARM64-KVM present: kvm [1]: VHE mode initialized successfully"), out);
        }
        assertEquals(OptionalInt.of(7), Arm64TestHost.exitStatus(out));
    }

    @Test
    void theStatusIsTheLastExitLine() {
        assertEquals(OptionalInt.of(3), Arm64TestHost.exitStatus("AETHER-ARM64-EXIT 0 uptime=1.0\nAETHER-ARM64-EXIT 3\n"));
        assertEquals(OptionalInt.empty(), Arm64TestHost.exitStatus("AETHER-ARM64-L1 uptime=2\nKernel panic\n"));
        assertEquals(OptionalInt.empty(), Arm64TestHost.exitStatus("probe: AETHER-ARM64-EXIT 1\n"));
    }

    @Test
    void l1IsAnEl2MachineWithGicV3AndFastPointerAuthentication() {
        String command = String.join(" ", Arm64TestHost.command(Path.of("/usr/bin/qemu-system-aarch64"), Path.of("/c/Image"),
                Path.of("/t/l1.cpio")));
        assertEquals("/usr/bin/qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max,pauth-impdef=on"
                + " -accel tcg,thread=multi -smp 2 -m 4G -nodefaults -no-user-config -nographic -serial stdio -no-reboot"
                + " -kernel /c/Image -initrd /t/l1.cpio -append console=ttyAMA0 quiet panic=-1", command);
    }

    @Test
    void withoutQemuForArm64TheHostSaysWhatToInstall() {
        var e = assertThrows(IOException.class, () -> Arm64TestHost.prepare(dir.toString(), dir.resolve("cache")));
        assertEquals("no qemu-system-aarch64 on PATH to emulate the arm64 test host (apt-get install qemu-system-arm)",
                e.getMessage());
    }

    @Test
    void programsAreCheckedBeforeAnythingBoots() {
        Duration minute = Duration.ofMinutes(1);
        assertThrows(IllegalArgumentException.class, () -> new Arm64Program("io.x.Probe; reboot", List.of(jar), List.of(), minute));
        assertThrows(IllegalArgumentException.class, () -> new Arm64Program("io.x.Probe", List.of(), List.of(), minute));
        var missing = assertThrows(IllegalArgumentException.class,
                () -> new Arm64Program("io.x.Probe", List.of(dir.resolve("gone.jar")), List.of(), minute));
        assertEquals("classpath entry " + dir.resolve("gone.jar") + " is neither a directory nor a file", missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Arm64Program("io.x.Probe", List.of(jar), List.of("a\nb"), minute));
        assertThrows(IllegalArgumentException.class, () -> new Arm64Program("io.x.Probe", List.of(jar), List.of(), Duration.ZERO));
        // Each class's jar or directory, once: this test's classes and JUnit's jar.
        List<Path> cp = Arm64Program.classpathOf(Arm64TestHostTest.class, Test.class, Arm64TestHostTest.class);
        assertEquals(2, cp.size(), cp.toString());
        assertTrue(Files.isDirectory(cp.get(0)) && cp.get(1).getFileName().toString().startsWith("junit-jupiter-api"), cp.toString());
    }

    private static Initramfs.Content content(Initramfs layout, String path) {
        return assertInstanceOf(Initramfs.RegularFile.class, layout.get(path), path).content();
    }
}
