package io.aether.it;

import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.HostProbe;
import io.aether.testkit.Prerequisites;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.guest.GuestInit;
import io.aether.loader.KernelLoader;
import io.aether.loader.LoadException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Aether's monitor boots the stock Debian guest (in the nested test host on these machines,
 * directly on hardware KVM elsewhere) and the guest sees what the command line asked for.
 */
// Each scenario ends itself (its time limit, the console waits below); this only catches a hang outside them,
// such as waiting for another process's run of the nested host (up to 20 minutes) and then a retried stall.
@Timeout(value = 30, unit = TimeUnit.MINUTES)
class AetherBootsLinuxTest {

    private static final Duration STEP = Duration.ofMinutes(2);
    /** Emulation on a busy machine can stretch a boot several times over; waits only cost time when they fail. */
    private static final Duration BOOT = Duration.ofMinutes(4);
    private static final Pattern READY = Pattern.compile(Pattern.quote(GuestInit.READY_MARKER));

    @Test
    void bootsToAShellWithTheRequestedCpusAndMemory() throws Exception {
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.aetherVm("--vcpus", "2", "--mem", "256M").build())) {
                GuestConsole console = run.console();
                console.expectLine(READY, BOOT);
                assertEquals(List.of("hello"), console.exec("echo hello", STEP).lines());
                assertEquals(List.of("2"), console.exec("nproc", STEP).lines());
                // Both vCPUs run their APIC timers in TSC-deadline mode (KVM's in-kernel APIC), as QEMU's
                // `-cpu host` guests do: the nested host's KVM (6.1) leaves the flag out of its supported CPUID.
                assertEquals(List.of("2"), console.exec("grep -c '^flags.* tsc_deadline_timer' /proc/cpuinfo", STEP).lines());
                String memTotal = console.exec("sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo", STEP).output();
                long kib = Long.parseLong(memTotal);
                // The kernel keeps its own image and reservations out of MemTotal: most of 256 MiB, never more.
                assertTrue(kib > 200 * 1024 && kib <= 256 * 1024, "MemTotal " + kib + " kB for --mem 256M");
                console.exitShell(STEP);
                assertEquals(0, run.awaitExit(STEP), "a powered-off guest ends the monitor with status 0");
            }
        });
    }

    @Test
    void aDiskKeepsItsDataAcrossBootsAndReadOnlyRefusesWrites() throws Exception {
        String boot = Scenario.aetherVmCommand(Scenario.GUEST_CMDLINE);
        String script = """
                dd if=/dev/zero of=disk.img bs=1M count=8 2>/dev/null
                %s --disk disk.img || exit 10
                %s --disk disk.img,ro || exit 11
                echo "host sees: $(head -c 15 disk.img)"
                """.formatted(boot, boot);
        GuestHost.get().retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).timeout(Duration.ofMinutes(10)).build())) {
                GuestConsole console = run.console();
                console.expectLine(READY, BOOT);
                assertEquals(0, console.exec("printf aether-persists > /dev/vda && sync", STEP).status());
                assertEquals("0", console.exec("cat /sys/block/vda/ro", STEP).output());
                console.exitShell(STEP);

                console.expectLine(READY, BOOT);
                assertEquals("aether-persists", console.exec("head -c 15 /dev/vda", STEP).output(), "written in the first boot");
                assertEquals("1", console.exec("cat /sys/block/vda/ro", STEP).output(), "VIRTIO_BLK_F_RO reaches the guest");
                assertNotEquals(0, console.exec("printf overwritten > /dev/vda", STEP).status());
                console.exec("sync; echo 3 > /proc/sys/vm/drop_caches", STEP);
                assertEquals("aether-persists", console.exec("head -c 15 /dev/vda", STEP).output());
                console.exitShell(STEP);

                console.expectLine(Pattern.compile("host sees: aether-persists"), STEP);
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }

    @Test
    void anElfVmlinuxBootsThroughItsPvhEntryAndAGuestRebootRestartsOrEndsTheVm() throws Exception {
        TestHost host = GuestHost.get();
        Path vmlinux = Files.createTempFile("aether-vmlinux", ".elf");
        try {
            Files.write(vmlinux, KernelLoader.extractVmlinux(host.guest().kernel()));
            String elfRestarting = Scenario.aetherVmCommand(Scenario.GUEST_CMDLINE, "--on-reboot", "restart")
                    .replace("--kernel \"$GUEST_KERNEL\"", "--kernel vmlinux");
            String script = """
                    head -c 4 vmlinux | od -An -c | tr -d ' \\n'; echo
                    %s
                    echo "restarting monitor exited: $?"
                    %s
                    echo "exiting monitor exited: $?"
                    """.formatted(elfRestarting, Scenario.aetherVmCommand(Scenario.GUEST_CMDLINE));
            Scenario scenario = Scenario.script(script).file("vmlinux", vmlinux).timeout(Duration.ofMinutes(12)).build();
            host.retryingStalls(testHost -> {
                try (GuestRun run = testHost.start(scenario)) {
                    GuestConsole console = run.console();
                    console.expectLine(Pattern.compile("177ELF"), STEP);
                    console.expectLine(READY, BOOT);
                    assertEquals(List.of("ok"), console.exec("test -d /sys/bus/virtio/drivers/virtio_blk && echo ok", STEP).lines());
                    console.expect(GuestConsole.PROMPT, STEP);
                    console.sendLine("echo b > /proc/sysrq-trigger"); // an immediate reboot, as after a panic
                    console.expectLine(Pattern.compile("aether: guest rebooted; restarting the VM"), BOOT);
                    console.expectLine(READY, BOOT);
                    console.exitShell(STEP);
                    console.expectLine(Pattern.compile("restarting monitor exited: 0"), STEP);

                    console.expectLine(READY, BOOT);
                    console.expect(GuestConsole.PROMPT, STEP);
                    console.sendLine("reboot -f");
                    console.expectLine(Pattern.compile("exiting monitor exited: 0"), BOOT);
                    assertEquals(0, run.awaitExit(STEP));
                }
            });
        } finally {
            Files.deleteIfExists(vmlinux);
        }
    }

    @Test
    void theGuestPingsTheHostOverVirtioNet() throws Exception {
        TestHost host = GuestHost.get();
        if (host.mode() == HostProbe.Mode.DIRECT) {
            Prerequisites.require(isRoot(), "making a TAP device on this host (direct mode) needs root");
        }
        // iproute2 makes the TAP on a direct-mode host; busybox's tunctl in the nested host.
        String script = """
                ip tuntap add dev aethertap0 mode tap 2>/dev/null || tunctl -t aethertap0 >/dev/null || exit 10
                ip addr add 10.213.77.1/24 dev aethertap0 && ip link set aethertap0 up || exit 11
                %s --net aethertap0
                status=$?
                ip link del aethertap0
                exit $status
                """.formatted(Scenario.aetherVmCommand(Scenario.GUEST_CMDLINE));
        host.retryingStalls(testHost -> {
            try (GuestRun run = testHost.start(Scenario.script(script).build())) {
                GuestConsole console = run.console();
                console.expectLine(READY, BOOT);
                assertEquals(0, console.exec("ip link set eth0 up && ip addr add 10.213.77.2/24 dev eth0", STEP).status());
                GuestConsole.ShellResult ping = console.exec("ping -c 3 -W 10 10.213.77.1", STEP);
                assertEquals(0, ping.status(), ping.output());
                assertTrue(ping.output().contains("3 packets transmitted, 3 packets received"), ping.output());
                console.exitShell(STEP);
                assertEquals(0, run.awaitExit(STEP));
            }
        });
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
