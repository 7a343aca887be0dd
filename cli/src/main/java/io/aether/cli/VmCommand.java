package io.aether.cli;

import io.aether.arch.x86_64.StubGuest;
import io.aether.common.ByteSize;
import io.aether.sys.NativeCallException;
import io.aether.sys.Terminal;
import io.aether.vmm.ConsoleSession;
import io.aether.vmm.MicroVm;
import io.aether.vmm.StopReason;
import io.aether.vmm.VmConfig;
import io.aether.vmm.VmCreationException;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code aether vm}: the microVM monitor. */
@Command(name = "vm", mixinStandardHelpOptions = true,
        description = "Run microVMs on this host's KVM.",
        subcommands = VmCommand.Run.class)
final class VmCommand {

    /** Exit statuses of {@code aether vm run}. */
    static final int STATUS_BAD_ARGUMENTS = 2;

    @Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
            description = {
                "Boot a microVM and attach its serial console to this terminal.",
                "",
                "The guest's console (COM1, ttyS0) is on standard output and reads standard input;",
                "on a terminal, keys go to the guest raw: Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends Ctrl-A.",
                "Devices: a 16550 UART, an ACPI power button, an entropy device, and the virtio-blk",
                "and virtio-net devices you ask for, found by the guest through ACPI (virtio-mmio).",
                "",
                "Examples:",
                "  aether vm run --stub",
                "  aether vm run --stub=echo",
                "  aether vm run --kernel vmlinuz --initrd initramfs.cpio.gz --mem 512M --vcpus 2",
                "  aether vm run --kernel vmlinuz --initrd initrd.gz --disk data.img --disk base.img,ro --net tap0",
                ""},
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {
                "0:the guest powered off or rebooted (or the stub guest halted)",
                "2:bad arguments (nothing was started)",
                "3:the guest crashed (triple fault, KVM emulation failure or failed entry)",
                "4:the monitor failed (KVM or a device backend refused something)",
                "130/143:stopped by SIGINT/SIGTERM (the VM was stopped cleanly first)"})
    static final class Run implements Callable<Integer> {

        @Option(names = "--stub", arity = "0..1", fallbackValue = "hello", paramLabel = "PROGRAM",
                description = {"Run the built-in stub guest (no kernel needed): it enters long mode and prints a line on the UART, then",
                    "hello: halts;  echo: echoes what you type until Ctrl-D;  crash: triple-faults (exit status 3)."})
        String stub;

        @Option(names = "--kernel", paramLabel = "PATH", description = "Linux kernel: a bzImage (vmlinuz) or an ELF vmlinux with a PVH entry.")
        Path kernel;

        @Option(names = "--initrd", paramLabel = "PATH", description = "Initial ramdisk (cpio archive, optionally compressed).")
        Path initrd;

        @Option(names = "--cmdline", paramLabel = "STR", description = "Kernel command line (default: ${DEFAULT-VALUE}).")
        String cmdline = VmConfig.DEFAULT_CMDLINE;

        @Option(names = "--mem", paramLabel = "SIZE", description = "Guest RAM, e.g. 256M or 2G (default: ${DEFAULT-VALUE}).")
        String mem = "256M";

        @Option(names = "--vcpus", paramLabel = "N", description = "Number of vCPUs (default: ${DEFAULT-VALUE}).")
        int vcpus = 1;

        @Option(names = "--disk", paramLabel = "PATH[,ro]", description = "A raw disk image as virtio-blk (repeatable; the first is /dev/vda). ',ro' attaches it read-only.")
        List<String> disks = new ArrayList<>();

        @Option(names = "--net", paramLabel = "TAP", description = "Attach a virtio-net device to this TAP interface (create it with: ip tuntap add TAP mode tap).")
        String tap;

        @Option(names = "--trace-exits", description = "Print every vCPU exit, decoded, on standard error.")
        boolean traceExits;

        @Option(names = "--on-reboot", paramLabel = "exit|restart", description = "What a guest reboot does (default: ${DEFAULT-VALUE}).")
        String onReboot = "exit";

        @Override
        public Integer call() throws Exception {
            VmConfig config;
            try {
                config = config();
            } catch (IllegalArgumentException e) {
                System.err.println("aether vm run: " + e.getMessage());
                return STATUS_BAD_ARGUMENTS;
            }
            return runConsole(config);
        }

        VmConfig config() {
            if (stub != null && kernel != null) throw new IllegalArgumentException("--stub and --kernel exclude each other");
            if (stub == null && kernel == null) throw new IllegalArgumentException("--kernel is required (or --stub for the built-in guest)");
            if (stub != null) {
                StubGuest.Program program = switch (stub) {
                    case "hello" -> StubGuest.Program.HELLO;
                    case "echo" -> StubGuest.Program.ECHO;
                    case "crash" -> StubGuest.Program.CRASH;
                    default -> throw new IllegalArgumentException("--stub: '" + stub + "' is not hello, echo or crash");
                };
                return VmConfig.stub(program, traceExits);
            }
            ByteSize memory;
            try {
                memory = ByteSize.parse(mem);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--mem: " + e.getMessage());
            }
            boolean restart = switch (onReboot) {
                case "exit" -> false;
                case "restart" -> true;
                default -> throw new IllegalArgumentException("--on-reboot: '" + onReboot + "' is not exit or restart");
            };
            return new VmConfig(Optional.of(kernel), Optional.empty(), Optional.ofNullable(initrd), cmdline, memory, vcpus,
                    disks.stream().map(VmConfig.Disk::parse).toList(), Optional.ofNullable(tap), traceExits, restart);
        }
    }

    /**
     * Runs the VM with the console on standard input and output until it stops; a reboot with
     * restart-on-reboot builds it again. SIGINT/SIGTERM stop it cleanly (disks flushed).
     */
    static int runConsole(VmConfig config) throws InterruptedException {
        OutputStream console = ConsoleSession.lineFlushing(new FileOutputStream(FileDescriptor.out));
        PrintStream trace = new PrintStream(new FileOutputStream(FileDescriptor.err), true);
        Terminal terminal = Terminal.rawIfTerminal(0);
        CountDownLatch done = new CountDownLatch(1);
        MicroVm[] current = new MicroVm[1];
        Thread hook = new Thread(() -> {
            MicroVm vm;
            synchronized (current) {
                vm = current[0];
            }
            if (vm != null) vm.requestStop(new StopReason.Requested("signal"));
            try {
                done.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (terminal != null) terminal.close();
        });
        Runtime.getRuntime().addShutdownHook(hook);
        ConsoleSession keys = ConsoleSession.start(System.in, terminal != null);
        try {
            while (true) {
                MicroVm vm;
                try {
                    vm = MicroVm.create(config, console, trace);
                } catch (IllegalArgumentException e) {
                    System.err.println("aether vm run: " + e.getMessage());
                    return STATUS_BAD_ARGUMENTS;
                } catch (VmCreationException | NativeCallException e) {
                    System.err.println("aether vm run: " + e.getMessage());
                    return new StopReason.HostError(e.getMessage()).exitStatus();
                }
                StopReason reason;
                try {
                    synchronized (current) {
                        current[0] = vm;
                    }
                    keys.attach(vm);
                    vm.start();
                    reason = vm.awaitStop();
                } finally {
                    vm.close();
                    console.flush();
                }
                if (reason instanceof StopReason.Reboot && config.restartOnReboot()) {
                    System.err.println("\r\naether: guest rebooted; restarting the VM");
                    continue;
                }
                boolean expected = reason instanceof StopReason.PowerOff || reason instanceof StopReason.Halted
                        || reason instanceof StopReason.Reboot;
                if (!expected || config.traceExits()) {
                    System.err.println("\r\naether: " + reason.message());
                }
                return reason.exitStatus();
            }
        } catch (java.io.IOException e) {
            return 0;
        } finally {
            done.countDown();
            if (terminal != null) terminal.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // Shutdown is already in progress: the hook is running and waits for done.
            }
        }
    }
}
