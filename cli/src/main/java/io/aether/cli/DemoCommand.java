package io.aether.cli;

import io.aether.guest.GuestInit;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.HostProbe;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code aether demo}: the main job of a fresh checkout, a stock Linux microVM end to end. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Boot a stock Linux microVM under Aether and show its console.",
            "",
            "Fetches Debian's cloud kernel and builds a busybox initramfs (cached after the first run), boots",
            "them under Aether's monitor with an entropy device, runs a few commands on the guest's serial",
            "console, and powers the guest off.",
            "",
            "Where this host's /dev/kvm is hardware virtualization the microVM runs directly. Where it is",
            "not (PVM-backed /dev/kvm on cloud VMs cannot boot an unmodified kernel), it runs inside a nested",
            "host: QEMU emulating an AMD CPU with SVM, whose kvm-amd gives Aether a hardware-like /dev/kvm.",
            "That needs qemu-system-x86 (installed with apt-get when you are root) and takes a minute or two.",
            ""},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the guest booted, answered and powered off", "1:something failed (the message says what)"})
final class DemoCommand implements Callable<Integer> {

    /** Commands run on the guest's console, each showing something the monitor provides. */
    static final List<String> COMMANDS = List.of(
            "uname -a",
            "cat /proc/cmdline",
            "nproc",
            "grep MemTotal /proc/meminfo",
            "ls /sys/bus/virtio/devices/",
            "cat /sys/class/misc/hw_random/rng_current",
            "dmesg | grep -i -m 3 -e 'Hypervisor detected' -e 'ACPI: RSDP' -e LNRO0005");

    @Option(names = "--vcpus", paramLabel = "N", description = "vCPUs of the microVM (default: ${DEFAULT-VALUE}).")
    int vcpus = 2;

    @Option(names = "--mem", paramLabel = "SIZE", description = "Memory of the microVM (default: ${DEFAULT-VALUE}).")
    String mem = "256M";

    @Override
    public Integer call() throws Exception {
        HostProbe probe = HostProbe.probe();
        if (probe.mode().isEmpty() && !probe.directCapable() && probe.qemu().isEmpty()) {
            System.err.println("aether demo: this host's /dev/kvm cannot boot a stock kernel, so the demo runs in a nested host,"
                    + " which needs qemu-system-x86");
            if (!installQemu()) return 1;
        }
        TestHost host;
        try {
            host = TestHost.open();
        } catch (IOException e) {
            System.err.println("aether demo: " + e.getMessage());
            return 1;
        }
        System.err.println(host.mode() == HostProbe.Mode.DIRECT
                ? "aether demo: booting the microVM on this host's KVM"
                : "aether demo: this host's /dev/kvm cannot boot an unmodified kernel; booting the microVM inside the"
                        + " nested host (emulated, so expect a minute or two)");
        int[] status = {1};
        host.retryingStalls(h -> {
            try (GuestRun run = h.start(Scenario.aetherVm("--vcpus", Integer.toString(vcpus), "--mem", mem)
                    .timeout(Duration.ofMinutes(20)).build())) {
                GuestConsole console = run.console();
                console.expectLine(Pattern.compile(Pattern.quote(GuestInit.READY_MARKER)), Duration.ofMinutes(10));
                for (String command : COMMANDS) {
                    console.exec(command, Duration.ofMinutes(2));
                }
                console.exitShell(Duration.ofMinutes(2));
                status[0] = run.awaitExit(Duration.ofMinutes(3));
            }
        });
        System.out.println();
        System.err.println(status[0] == 0
                ? "aether demo: the microVM booted, answered " + COMMANDS.size() + " commands on its console and powered off"
                : "aether demo: the monitor exited with status " + status[0]);
        return status[0] == 0 ? 0 : 1;
    }

    /** Installs QEMU with apt-get when running as root; says what to do otherwise. */
    private static boolean installQemu() throws IOException, InterruptedException {
        if (!"root".equals(System.getProperty("user.name"))) {
            System.err.println("aether demo: install it first: sudo apt-get install -y qemu-system-x86");
            return false;
        }
        System.err.println("aether demo: installing qemu-system-x86 with apt-get");
        for (List<String> step : List.of(List.of("apt-get", "update", "-qq"),
                List.of("apt-get", "install", "-y", "-qq", "qemu-system-x86"))) {
            Process p = new ProcessBuilder(step).inheritIO().redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor() != 0) {
                System.err.println("aether demo: '" + String.join(" ", step) + "' failed with status " + p.exitValue());
                return false;
            }
        }
        return true;
    }
}
