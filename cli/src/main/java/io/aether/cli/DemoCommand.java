package io.aether.cli;

import io.aether.guest.Arm64GuestFetcher;
import io.aether.guest.GuestArtifacts;
import io.aether.guest.GuestFetcher;
import io.aether.guest.GuestInit;
import io.aether.testhost.Arm64Program;
import io.aether.testhost.Arm64TestHost;
import io.aether.testhost.GuestConsole;
import io.aether.testhost.GuestRun;
import io.aether.testhost.HostProbe;
import io.aether.testhost.Scenario;
import io.aether.testhost.TestHost;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

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
            "",
            "--arch arm64 boots Debian's arm64 cloud kernel (aether guest fetch --arch arm64) under Aether on",
            "the arm64 Java runtime inside the arm64 test host: QEMU emulating an arm64 machine whose KVM runs",
            "at EL2. That needs qemu-system-arm, fetches about 85 MB once, and takes several minutes.",
            ""},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:the guest booted, answered and powered off", "1:something failed (the message says what)"})
final class DemoCommand implements Callable<Integer> {

    /** Commands run on the guest's console, each showing something the monitor provides; then the platform's own line. */
    private static final List<String> GUEST_COMMANDS = List.of(
            "uname -a",
            "cat /proc/cmdline",
            "nproc",
            "grep MemTotal /proc/meminfo",
            "ls /sys/bus/virtio/devices/",
            "cat /sys/class/misc/hw_random/rng_current");

    /** The x86_64 guest's commands: what ACPI and the hypervisor leaves gave it last. */
    static final List<String> COMMANDS = withPlatformLine("dmesg | grep -i -m 3 -e 'Hypervisor detected' -e 'ACPI: RSDP' -e LNRO0005");

    /** The arm64 guest's: what the device tree, PSCI and the GICv3 gave it instead of ACPI. */
    static final List<String> ARM64_COMMANDS = withPlatformLine("dmesg | grep -m 3 -e 'psci: PSCIv' -e 'GICv3: ' -e 'Machine model'");

    private static List<String> withPlatformLine(String platform) {
        List<String> commands = new ArrayList<>(GUEST_COMMANDS);
        commands.add(platform);
        return List.copyOf(commands);
    }

    /** The console of the monitor in the arm64 test host: a 16550 on MMIO, ttyS0 to the stock kernel. */
    static final String ARM64_CMDLINE = "console=ttyS0 quiet panic=-1";

    @Spec
    CommandSpec spec;

    @Option(names = "--arch", paramLabel = "ARCH",
            description = "amd64 or arm64: the microVM's architecture (default: ${DEFAULT-VALUE}); arm64 runs in the arm64 test host.")
    String arch = "amd64";

    @Option(names = "--vcpus", paramLabel = "N", description = "vCPUs of the microVM (default: ${DEFAULT-VALUE}).")
    int vcpus = 2;

    @Option(names = "--mem", paramLabel = "SIZE", description = "Memory of the microVM (default: ${DEFAULT-VALUE}).")
    String mem = "256M";

    @Override
    public Integer call() throws Exception {
        return switch (arch) {
            case "amd64" -> amd64();
            case "arm64" -> arm64();
            default -> throw new ParameterException(spec.commandLine(), "--arch: '" + arch + "' is not amd64 or arm64");
        };
    }

    private int amd64() throws Exception {
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
                status[0] = converse(run, COMMANDS);
            }
        });
        return finish(status[0], COMMANDS);
    }

    /** The arm64 guest under the arm64 monitor, in the arm64 test host's emulated machine (L1). */
    private int arm64() throws Exception {
        GuestArtifacts guest;
        Arm64TestHost host;
        try {
            guest = new Arm64GuestFetcher(GuestFetcher.defaultCacheRoot(), line -> System.err.println("aether demo: " + line)).fetch(false);
            host = Arm64TestHost.shared();
        } catch (IOException e) {
            System.err.println("aether demo: " + e.getMessage());
            return 1;
        }
        System.err.println("aether demo: booting the arm64 microVM under Aether inside the arm64 test host"
                + " (an emulated arm64 machine whose KVM runs at EL2: expect several minutes)");
        String files = Arm64Program.FILES_DIR + "/";
        Arm64Program program = new Arm64Program(Main.class.getName(), TestHost.productClasspath(),
                List.of("vm", "run", "--kernel", files + guest.kernel().getFileName(), "--initrd", files + guest.initramfs().getFileName(),
                        "--vcpus", Integer.toString(vcpus), "--mem", mem, "--cmdline", ARM64_CMDLINE),
                Duration.ofMinutes(20), List.of(guest.kernel(), guest.initramfs()));
        int status;
        try (GuestRun run = host.start(program)) {
            run.console().expectLine(Pattern.compile(Arm64TestHost.KVM_PRESENT), Duration.ofMinutes(4));
            status = converse(run, ARM64_COMMANDS);
        }
        return finish(status, ARM64_COMMANDS);
    }

    /** Waits for the guest's shell, runs {@code commands} on it, leaves it (the guest powers off); the monitor's status. */
    private static int converse(GuestRun run, List<String> commands) {
        GuestConsole console = run.console();
        console.expectLine(Pattern.compile(Pattern.quote(GuestInit.READY_MARKER)), Duration.ofMinutes(10));
        for (String command : commands) {
            console.exec(command, Duration.ofMinutes(2));
        }
        console.exitShell(Duration.ofMinutes(2));
        return run.awaitExit(Duration.ofMinutes(3));
    }

    private static int finish(int status, List<String> commands) {
        System.out.println();
        System.err.println(status == 0
                ? "aether demo: the microVM booted, answered " + commands.size() + " commands on its console and powered off"
                : "aether demo: the monitor exited with status " + status);
        return status == 0 ? 0 : 1;
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
