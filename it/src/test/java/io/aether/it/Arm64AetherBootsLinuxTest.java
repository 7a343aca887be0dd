package io.aether.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.guest.Arm64GuestFetcher;
import io.aether.guest.GuestArtifacts;
import io.aether.guest.GuestFetcher;
import io.aether.guest.GuestInit;
import io.aether.guest.Initramfs;
import io.aether.testhost.Arm64Program;
import io.aether.testhost.Arm64TestHost;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.TestHost;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The product on arm64: inside the arm64 test host (L1, an emulated arm64 machine whose KVM runs
 * at EL2), {@code aether vm run} on the arm64 Java runtime boots Debian's stock arm64 cloud kernel
 * (the same {@code Image} L1 runs) with a busybox initramfs, through the device tree, the GICv3
 * and PSCI, to its init and a PSCI power-off.
 */
class Arm64AetherBootsLinuxTest {

    /** Printed by the L2 guest's init with what it sees. */
    static final String MARKER = "AETHER-ARM64-GUEST-UP";
    private static final Duration L1_BOOT = Duration.ofMinutes(2);
    /** The JVM's start in L1 and a Linux boot under KVM whose every exit is emulated: a minute quiet, several under load. */
    private static final Duration L2_BOOT = Duration.ofMinutes(6);
    private static final Duration STEP = Duration.ofMinutes(1);

    private static Arm64TestHost host;

    @BeforeAll
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    static void prepare() {
        host = Arm64Hosts.shared();
    }

    /** The guest's /init: says what it sees, then powers off (busybox: reboot(2) POWER_OFF, PSCI SYSTEM_OFF on arm64). */
    static String guestInit() {
        return """
                #!/bin/sh
                mount -t proc proc /proc
                echo "%s cpus=$(nproc) memtotal_kb=$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo) arch=$(uname -m)"
                poweroff -f
                """.formatted(MARKER);
    }

    /**
     * virtio-mmio on GICv3 SPIs: the stock kernel's own virtio_mmio, virtio_blk and virtio-rng
     * modules find two disks and the entropy device through the device tree; the guest reads what
     * the host wrote, writes the read-write disk, cannot write the read-only one
     * (VIRTIO_BLK_F_RO), and reads entropy.
     */
    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void theGuestFindsVirtioDisksAndEntropyThroughTheDeviceTreeAndTheReadOnlyDiskRefusesWrites(@TempDir Path dir) throws IOException {
        List<Path> modules = host.guestModules();
        Path initrd = dir.resolve("disk-initrd.cpio");
        Initramfs guest = Initramfs.busybox(host.busybox(), List.of("bin/sh", "bin/mount", "sbin/insmod", "bin/cat", "usr/bin/head",
                "bin/dd", "usr/bin/wc", "sbin/poweroff"));
        for (Path m : modules) guest.file(m.getFileName().toString(), 0644, m);
        guest.text("init", 0755, """
                #!/bin/sh
                mount -t proc proc /proc
                mount -t sysfs sysfs /sys
                mount -t devtmpfs devtmpfs /dev
                for m in %s; do insmod /$m || echo "cannot load $m"; done
                echo "host-data: $(head -c 14 /dev/vda) $(head -c 14 /dev/vdb)"
                echo "read-only: $(cat /sys/block/vda/ro) $(cat /sys/block/vdb/ro)"
                echo guest-wrote | dd of=/dev/vda bs=512 seek=1 conv=fsync 2>/dev/null; echo "write-rw: $?"
                echo guest-wrote | dd of=/dev/vdb bs=512 seek=1 conv=fsync 2>/dev/null; echo "write-ro: $?"
                echo 3 > /proc/sys/vm/drop_caches
                echo "read-back: $(dd if=/dev/vda bs=512 skip=1 count=1 2>/dev/null | head -c 11)"
                echo "rng: $(cat /sys/class/misc/hw_random/rng_current) $(head -c 64 /dev/hwrng | wc -c)"
                poweroff -f
                """.formatted(String.join(" ", modules.stream().map(m -> m.getFileName().toString()).toList())));
        guest.write(initrd, false);
        byte[] disk = new byte[1 << 20];
        byte[] rw = "host-disk-rw-1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(rw, 0, disk, 0, rw.length);
        Path rwDisk = java.nio.file.Files.write(dir.resolve("rw.img"), disk);
        byte[] ro = "host-disk-ro-2".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(ro, 0, disk, 0, ro.length);
        Path roDisk = java.nio.file.Files.write(dir.resolve("ro.img"), disk);
        String files = Arm64Program.FILES_DIR + "/";
        Arm64Program program = new Arm64Program("io.aether.cli.Main", TestHost.productClasspath(),
                List.of("vm", "run", "--kernel", files + host.kernel().getFileName(), "--initrd", files + initrd.getFileName(),
                        "--disk", files + "rw.img", "--disk", files + "ro.img,ro", "--cmdline", "console=ttyS0 quiet panic=-1"),
                Duration.ofMinutes(10), List.of(host.kernel(), initrd, rwDisk, roDisk));
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            assertEquals("host-data: host-disk-rw-1 host-disk-ro-2", console.expectLine(Pattern.compile("host-data: .*"), L2_BOOT).strip());
            assertEquals("read-only: 0 1", console.expectLine(Pattern.compile("read-only: .*"), STEP).strip());
            assertEquals("write-rw: 0", console.expectLine(Pattern.compile("write-rw: .*"), STEP).strip());
            assertTrue(!console.expectLine(Pattern.compile("write-ro: .*"), STEP).strip().equals("write-ro: 0"), "the read-only disk took a write");
            assertEquals("read-back: guest-wrote", console.expectLine(Pattern.compile("read-back: .*"), STEP).strip());
            // The entropy device, the window after the disks: the kernel's hw_random core picks it and reads from it.
            assertEquals("rng: virtio_rng.0 64", console.expectLine(Pattern.compile("rng: .*"), STEP).strip());
            assertEquals(0, run.awaitExit(Duration.ofMinutes(2)), run.transcript());
        }
    }

    /**
     * {@code aether demo --arch arm64} as a user runs it (its own JVM, the product's classpath):
     * the guest {@code aether guest fetch --arch arm64} builds (Debian's gzip-compressed arm64
     * {@code vmlinuz}, its virtio modules decompressed, the project's initramfs) boots under Aether
     * in L1 to its ready marker with every module loaded, answers the demo's commands on its
     * console, and powers off when its shell ends: status 0.
     */
    @Test
    @Timeout(value = 15, unit = TimeUnit.MINUTES)
    void theArm64DemoBootsTheFetchedGuestWhichAnswersItsCommandsAndPowersOff() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classpath = String.join(File.pathSeparator, TestHost.productClasspath().stream().map(Path::toString).toList());
        Process p = new ProcessBuilder(List.of(java, "-cp", classpath, "io.aether.cli.Main", "demo", "--arch", "arm64", "--vcpus", "2"))
                .redirectErrorStream(true).start();
        p.getOutputStream().close();
        var out = new ByteArrayOutputStream();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (var in = p.getInputStream()) {
                in.transferTo(new OutputStream() {
                    @Override
                    public void write(int b) {
                        out.write(b);
                        System.out.write(b);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) {
                        out.write(b, off, len);
                        System.out.write(b, off, len);
                        System.out.flush();
                    }
                });
            } catch (IOException e) {
                // the process ended
            }
        });
        if (!p.waitFor(14, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError("the arm64 demo did not finish:\n" + out);
        }
        reader.join();
        String transcript = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), transcript);
        assertTrue(transcript.contains(GuestInit.READY_MARKER), transcript);
        assertTrue(!transcript.contains("aether-init: cannot load"), "every virtio module loads:\n" + transcript);
        assertTrue(Pattern.compile("Linux \\S+ \\S+ .* aarch64").matcher(transcript).find(), "uname -a answers aarch64:\n" + transcript);
        assertTrue(transcript.contains("virtio_rng.0"), "the entropy device serves the guest's hwrng:\n" + transcript);
        assertTrue(transcript.contains("Machine model: Aether microVM"), "the kernel read Aether's device tree:\n" + transcript);
        assertTrue(transcript.contains("aether demo: the microVM booted, answered 7 commands on its console and powered off"), transcript);
    }

    /** The arm64 stub guest: A64 code from the project's encoder prints over MMIO and powers off through PSCI. */
    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void theStubGuestPrintsOnTheUartAndPowersOffThroughPsci() throws IOException {
        Arm64Program program = new Arm64Program("io.aether.cli.Main", TestHost.productClasspath(), List.of("vm", "run", "--stub"),
                Duration.ofMinutes(4));
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            console.expectLine(Pattern.compile("Aether stub guest: hello from EL1\\s*"), L2_BOOT);
            assertEquals(0, run.awaitExit(Duration.ofMinutes(2)), "PSCI SYSTEM_OFF ends aether vm run with status 0:\n" + run.transcript());
        }
    }

    /**
     * virtio-net on arm64: the guest {@code aether guest fetch --arch arm64} builds (its initramfs
     * loads virtio_net) gets a NIC on a TAP in L1 ({@link Arm64TapHost} loads L1's tun module and
     * addresses the TAP the monitor makes); the guest brings eth0 up and pings L1 through it.
     */
    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void theGuestsVirtioNetReachesATapInTheTestHost() throws IOException {
        GuestArtifacts fetched = new Arm64GuestFetcher(GuestFetcher.defaultCacheRoot(), line -> System.err.println("guest fetch: " + line))
                .fetch(false);
        Path tun = host.hostModules().getFirst();
        String files = Arm64Program.FILES_DIR + "/";
        List<String> arguments = List.of(files + tun.getFileName(), "vm", "run", "--kernel", files + fetched.kernel().getFileName(),
                "--initrd", files + fetched.initramfs().getFileName(), "--net", Arm64TapHost.TAP, "--cmdline", "console=ttyS0 quiet panic=-1");
        Arm64Program program = new Arm64Program(Arm64TapHost.class.getName(), TestHost.productClasspath(), arguments,
                Duration.ofMinutes(10), List.of(fetched.kernel(), fetched.initramfs(), tun));
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            console.expectLine(Pattern.compile(Pattern.quote(GuestInit.READY_MARKER) + "\\s*"), L2_BOOT);
            assertTrue(run.transcript().contains(Arm64TapHost.UP), "L1's TAP is up:\n" + run.transcript());
            String driver = console.exec("busybox readlink /sys/class/net/eth0/device/driver", STEP).output().strip();
            assertTrue(driver.endsWith("/virtio_net"), "eth0 is virtio_net's: " + driver);
            assertEquals(0, console.exec("ip link set eth0 up && ip addr add 10.213.78.2/24 dev eth0", STEP).status());
            // busybox is the whole toolbox; the guest's initramfs links only the applets its init uses.
            GuestConsole.ShellResult ping = console.exec("busybox ping -c 3 -W 10 " + Arm64TapHost.HOST_ADDRESS, STEP);
            assertEquals(0, ping.status(), ping.output());
            assertTrue(ping.output().contains("3 packets transmitted, 3 packets received"), ping.output());
            console.exitShell(STEP);
            assertEquals(0, run.awaitExit(Duration.ofMinutes(2)), run.transcript());
        }
    }

    /**
     * The monitor's own SMCCC call on a real arm64 KVM: the stub's HVC with function id
     * 0x8600AE00 reaches the monitor through KVM's SMCCC filter as KVM_EXIT_HYPERCALL (traced),
     * the monitor answers x0 = SUCCESS and x1 = 'A' + 1 in the vCPU's registers, the guest prints
     * the answer, then PSCI SYSTEM_OFF (which KVM still answers) ends the run with status 0.
     */
    @Test
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    void theHypercallStubGetsTheMonitorsAnswerThroughKvmsSmcccFilter() throws IOException {
        Arm64Program program = new Arm64Program("io.aether.cli.Main", TestHost.productClasspath(),
                List.of("vm", "run", "--stub=hypercall", "--trace-exits"), Duration.ofMinutes(4));
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            console.expectLine(Pattern.compile(".*\\[vcpu 0] HYPERCALL function=0x8600ae00 \\(HVC\\)\\s*"), L2_BOOT);
            // The guest writes the line byte by byte, each write traced between: read the bytes back from the trace.
            assertEquals(0, run.awaitExit(Duration.ofMinutes(2)), "PSCI SYSTEM_OFF ends the run with status 0:\n" + run.transcript());
            StringBuilder printed = new StringBuilder();
            Matcher write = Pattern.compile("\\[vcpu 0] MMIO_WRITE addr=0x9000000 len=1 data=([0-9a-f]{2})").matcher(run.transcript());
            while (write.find()) printed.append((char) Integer.parseInt(write.group(1), 16));
            assertTrue(printed.toString().contains("hypercall: B\r\n"), "the guest printed the monitor's answer: " + printed);
        }
    }

    /**
     * {@code --debug} on real EL2 syndromes: each single step of the kernel's first instructions
     * is a KVM_EXIT_DEBUG whose ESR_EL2 the trace decodes. EC 0x32 is a software step from a
     * lower EL; the ISS's low six bits (IFSC) read 0x22, debug exception (Arm ARM, ESR_EL2).
     */
    @Test
    @Timeout(value = 8, unit = TimeUnit.MINUTES)
    void debugSingleStepsTheKernelAndTracesEachStepsEsrEl2Decoded() throws IOException {
        String files = Arm64Program.FILES_DIR + "/";
        Arm64Program program = new Arm64Program("io.aether.cli.Main", TestHost.productClasspath(),
                List.of("vm", "run", "--kernel", files + host.kernel().getFileName(), "--debug"),
                Duration.ofMinutes(5), List.of(host.kernel()));
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            Pattern step = Pattern.compile("\\[vcpu 0] DEBUG ESR_EL2=0x(c[ab][0-9a-f]{6}) EC=0x32 SOFTSTP_LOW \\(software step from a lower EL\\) IL=32:"
                    + " ISV=[01] EX=[01] IFSC=0x22 \\(debug exception\\) far=0x[0-9a-f]+\\s*");
            for (int i = 0; i < 3; i++) {
                Matcher m = step.matcher(console.expectLine(step, L2_BOOT).strip());
                assertTrue(m.matches());
                // EC in bits 31:26 and IL in bit 25 of the raw value agree with the decoded fields.
                long esr = Long.parseLong(m.group(1), 16);
                assertEquals(0x32, esr >>> 26);
                assertEquals(1, esr >>> 25 & 1);
            }
        }
    }

    @Test
    @Timeout(value = 12, unit = TimeUnit.MINUTES)
    void aetherBootsDebiansStockArm64KernelToItsInitAndPowersOffWithStatusZero(@TempDir Path dir) throws IOException {
        Path initrd = dir.resolve("guest-initrd.cpio");
        Initramfs guest = Initramfs.busybox(host.busybox(), List.of("bin/sh", "bin/mount", "bin/sed", "bin/uname", "usr/bin/nproc", "sbin/poweroff"));
        guest.text("init", 0755, guestInit());
        guest.write(initrd, false);
        String files = Arm64Program.FILES_DIR + "/";
        Arm64Program program = new Arm64Program("io.aether.cli.Main", TestHost.productClasspath(),
                List.of("vm", "run", "--kernel", files + host.kernel().getFileName(), "--initrd", files + initrd.getFileName(),
                        "--vcpus", "2", "--mem", "256M", "--cmdline", "console=ttyS0 quiet panic=-1"),
                Duration.ofMinutes(10), List.of(host.kernel(), initrd));
        try (GuestRun run = host.start(program)) {
            GuestConsole console = run.console();
            console.expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), L1_BOOT);
            Pattern upLine = Pattern.compile(MARKER + " cpus=(\\d+) memtotal_kb=(\\d+) arch=(\\S+)\\s*");
            // The whole line: a match on what has arrived so far could end inside a value.
            Matcher up = upLine.matcher(console.expectLine(upLine, L2_BOOT).strip());
            assertTrue(up.matches(), up.toString());
            assertEquals("2", up.group(1), "nproc equals --vcpus: the second vCPU came up through PSCI CPU_ON");
            long kib = Long.parseLong(up.group(2));
            // The kernel keeps its own image and reservations out of MemTotal: most of 256 MiB, never more.
            assertTrue(kib > 150 * 1024 && kib <= 256 * 1024, "MemTotal " + kib + " kB for --mem 256M");
            assertEquals("aarch64", up.group(3));
            assertEquals(0, run.awaitExit(Duration.ofMinutes(2)), "a PSCI power-off ends aether vm run with status 0:\n" + run.transcript());
            System.err.println("testhost: arm64: L1 boot, aether's JVM, the L2 boot and both power-offs took " + run.elapsed());
        }
    }
}
