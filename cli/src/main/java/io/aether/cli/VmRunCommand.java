package io.aether.cli;

import io.aether.common.ByteSize;
import io.aether.common.FieldException;
import io.aether.monitor.PageMerging;
import io.aether.sys.Libc;
import io.aether.sys.NativeCallException;
import io.aether.sys.Terminal;
import io.aether.vmm.BootTrace;
import io.aether.vmm.ConsoleSession;
import io.aether.vmm.KvmHost;
import io.aether.vmm.MicroVm;
import io.aether.vmm.StopReason;
import io.aether.vmm.VmCreationException;
import io.aether.vmspec.VmSpec;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * {@code aether vm run}: the monitor, one process per microVM. A node agent starts one of these
 * for every VM, so its start-up counts, and picocli's first use alone costs about 100 ms, a third
 * of the time from process start to the guest's first output. This command line is therefore
 * parsed here, by a small parser whose help text is kept next to it.
 */
final class VmRunCommand {

    static final int STATUS_BAD_ARGUMENTS = 2;

    static final String HELP = """
            Usage: aether vm run (--stub[=PROGRAM] | --kernel PATH) [OPTIONS]

            Boot a microVM and attach its serial console to this terminal.

            The guest's console (COM1, ttyS0) is on standard output and reads standard input;
            on a terminal, keys go to the guest raw: Ctrl-A x stops the VM, Ctrl-A Ctrl-A sends Ctrl-A.
            Devices: a 16550 UART, an i8042 keyboard controller, ACPI power registers, an entropy device, and the virtio-blk
            and virtio-net devices you ask for, found by the guest through ACPI (virtio-mmio); on aarch64 the
            UART is on MMIO, power-off is PSCI's, and a device tree describes the machine.

            Options:
                  --stub[=PROGRAM]   Run the built-in stub guest (no kernel needed): it enters long
                                     mode (x86_64) or EL1 (aarch64) and prints a line on the UART, then
                                     hello: halts or powers off (the default);  echo: echoes what you
                                     type until Ctrl-D;  count: prints 0123456789 lines for ever;
                                     crash (x86_64): triple-faults (exit status 3);  keyboard (x86_64):
                                     waits for Ctrl-Alt-Del on the i8042 (a graceful stop), then resets;
                                     hypercall (aarch64): calls the monitor through HVC (an SMCCC
                                     vendor hypervisor call KVM passes on) and prints its answer.
                  --kernel PATH      Linux kernel: a bzImage (vmlinuz) or an ELF vmlinux with a PVH entry.
                  --initrd PATH      Initial ramdisk (cpio archive, optionally compressed).
                  --cmdline STR      Kernel command line (default: %s). On x86_64 the
                                     machine adds pci=off 8250.nr_uarts=1 (it has no PCI bus and
                                     one UART), each unless STR sets it already.
                  --mem SIZE         Guest RAM, e.g. 256M or 2G (default: 256M).
                  --vcpus N          Number of vCPUs (default: 1).
                  --disk PATH[,ro|,rw]
                                     A raw disk image as virtio-blk (repeatable; the first is
                                     /dev/vda). ',ro' attaches it read-only; ',rw' read-write,
                                     the default.
                  --net TAP          Attach a virtio-net device to this TAP interface
                                     (create it with: ip tuntap add TAP mode tap); the guest's
                                     MAC address is chosen for this VM (locally administered).
                  --trace-exits      Print every vCPU exit, decoded, on standard error.
                  --debug            Single-step the guest and stop at its software breakpoints
                                     (KVM_SET_GUEST_DEBUG; aarch64): every instruction's exit is
                                     traced with its ESR_EL2 decoded. Implies --trace-exits.
                  --on-reboot exit|restart
                                     What a guest reboot does (default: exit).
                  --no-page-merging  Keep this process's own memory out of the kernel's same-page
                                     merging (KSM; the guest's memory never is in it).
              -h, --help             Show this help and exit.
            An option's value may follow it as the next argument or after '=' (--mem=512M).

            Examples:
              aether vm run --stub
              aether vm run --stub=echo
              aether vm run --kernel vmlinuz --initrd initramfs.cpio.gz --mem 512M --vcpus 2
              aether vm run --kernel vmlinuz --initrd initrd.gz --disk data.img --disk base.img,ro --net tap0

            Exit status:
              0        the guest powered off or rebooted (or the stub guest halted)
              2        bad arguments (nothing was started)
              3        the guest crashed (triple fault, KVM emulation failure or failed entry)
              4        the monitor failed (KVM or a device backend refused something), or this
                       host cannot boot the guest (a PVM-backed /dev/kvm runs only --stub)
              130/143  stopped by SIGINT/SIGTERM (the VM was stopped cleanly first)
            """.formatted(VmSpec.DEFAULT_CMDLINE);

    /** The options that take a value, each at most once (--disk, repeatable, is apart). */
    static final Set<String> VALUED = Set.of("--kernel", "--initrd", "--cmdline", "--mem", "--vcpus", "--net", "--on-reboot");

    /** Set when SIGINT/SIGTERM started the JVM's shutdown; the signal's exit status then stands. */
    private static volatile boolean signalled;

    private VmRunCommand() {
    }

    static boolean signalled() {
        return signalled;
    }

    /** A command line this parser refuses: one line, and nothing is started. */
    static final class UsageException extends IllegalArgumentException {
        UsageException(String message) {
            super(message);
        }
    }

    /**
     * What the command line says, before any of it is checked against the host; null for an
     * option not given (its default depends on the guest: see {@link #spec}).
     */
    record Options(boolean help, String stub, Path kernel, Path initrd, String cmdline, String mem, int vcpus,
                   List<String> disks, String tap, boolean traceExits, boolean debug, String onReboot, boolean pageMerging) {

        static Options parse(List<String> args) {
            boolean help = false;
            boolean traceExits = false;
            boolean debug = false;
            boolean pageMerging = true;
            String stub = null;
            List<String> disks = new ArrayList<>();
            java.util.Map<String, String> values = new java.util.HashMap<>();
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < args.size(); i++) {
                String arg = args.get(i);
                int eq = arg.startsWith("--") ? arg.indexOf('=') : -1;
                String name = eq < 0 ? arg : arg.substring(0, eq);
                String value = eq < 0 ? null : arg.substring(eq + 1);
                if (!name.equals("--disk") && (name.startsWith("-") && !seen.add(name))) {
                    throw new UsageException("option '" + name + "' should be given only once");
                }
                switch (name) {
                    case "-h", "--help" -> help = true;
                    case "--trace-exits" -> {
                        if (value != null) {
                            throw new UsageException("--trace-exits takes no value");
                        }
                        traceExits = true;
                    }
                    case "--debug" -> {
                        if (value != null) {
                            throw new UsageException("--debug takes no value");
                        }
                        debug = true;
                    }
                    case PageMerging.OFF_OPTION -> {
                        if (value != null) {
                            throw new UsageException(PageMerging.OFF_OPTION + " takes no value");
                        }
                        pageMerging = false;
                    }
                    case "--stub" -> {
                        // The program is optional: taken from the next argument unless that is an option.
                        if (value == null && i + 1 < args.size() && !args.get(i + 1).startsWith("-")) {
                            value = args.get(++i);
                        }
                        stub = value == null ? "hello" : value;
                    }
                    case "--disk" -> disks.add(value != null ? value : next(args, ++i, name, "PATH[,ro|,rw]"));
                    default -> {
                        if (VALUED.contains(name)) {
                            values.put(name, value != null ? value : next(args, ++i, name, "a value"));
                        } else if (arg.startsWith("-")) {
                            throw new UsageException("unknown option '" + name + "' (see 'aether vm run --help')");
                        } else {
                            throw new UsageException("unexpected argument '" + arg + "' (see 'aether vm run --help')");
                        }
                    }
                }
            }
            int vcpus;
            try {
                vcpus = Integer.parseInt(values.getOrDefault("--vcpus", "1"));
            } catch (NumberFormatException e) {
                throw new UsageException("--vcpus: '" + values.get("--vcpus") + "' is not a whole number");
            }
            return new Options(help, stub, path(values.get("--kernel")), path(values.get("--initrd")),
                    values.get("--cmdline"), values.get("--mem"),
                    vcpus, List.copyOf(disks), values.get("--net"), traceExits, debug, values.getOrDefault("--on-reboot", "exit"),
                    pageMerging);
        }

        private static String next(List<String> args, int i, String name, String what) {
            if (i >= args.size()) {
                throw new UsageException(name + " needs " + what);
            }
            return args.get(i);
        }

        private static Path path(String s) {
            return s == null ? null : Path.of(s);
        }

        /**
         * The VM to build, each option mapped onto its field of the spec; a bad value is an
         * IllegalArgumentException naming its option.
         */
        VmSpec spec() {
            if (stub != null && kernel != null) throw new IllegalArgumentException("--stub and --kernel exclude each other");
            if (stub == null && kernel == null) throw new IllegalArgumentException("--kernel is required (or --stub for the built-in guest)");
            if (stub != null && initrd != null) throw new IllegalArgumentException("--initrd needs --kernel");
            if (stub != null && cmdline != null) throw new IllegalArgumentException("--cmdline needs --kernel");
            ByteSize memory;
            try {
                memory = mem != null ? ByteSize.parse(mem) : stub != null ? VmSpec.STUB_MEMORY : VmSpec.DEFAULT_MEMORY;
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--mem: " + e.getMessage(), e);
            }
            try {
                VmSpec.Boot boot = stub != null
                        ? new VmSpec.Boot.Stub(VmSpec.StubProgram.parse(stub))
                        : new VmSpec.Boot.Linux(kernel, Optional.ofNullable(initrd), cmdline != null ? cmdline : VmSpec.DEFAULT_CMDLINE);
                List<VmSpec.Nic> nics = tap == null ? List.of() : List.of(new VmSpec.Nic(tap, Optional.empty()));
                return new VmSpec(boot, memory, vcpus, disks.stream().map(Options::disk).toList(), nics, VmSpec.OnReboot.parse(onReboot));
            } catch (FieldException e) {
                throw new IllegalArgumentException(inFlags(e), e);
            }
        }

        /** {@code PATH}, {@code PATH,ro} or {@code PATH,rw}. */
        private static VmSpec.Disk disk(String option) {
            if (option.endsWith(",ro")) return new VmSpec.Disk(Path.of(option.substring(0, option.length() - 3)), true);
            if (option.endsWith(",rw")) return new VmSpec.Disk(Path.of(option.substring(0, option.length() - 3)), false);
            return new VmSpec.Disk(Path.of(option), false);
        }
    }

    /**
     * The spec with its NICs' MAC addresses chosen for this VM's id, theirs for the life of the
     * process, restarts included. The id is made only for a VM with a NIC: a random UUID starts
     * the JDK's security providers (SecureRandom), which a monitor's start cannot afford on an
     * emulated arm64 host (docs/BENCHMARKS.md (f)).
     */
    static VmSpec withMacs(VmSpec spec, Supplier<String> vmId) {
        return spec.nics().isEmpty() ? spec : spec.withMacsFor(vmId.get());
    }

    /** Turns on guest debugging; a VM that refuses it is closed before the refusal leaves. */
    private static void debug(MicroVm vm) {
        try {
            vm.enableGuestDebug();
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
    }

    /** A spec's complaint in this command's terms: {@code --mem: ...} for {@code memory: ...}. */
    static String inFlags(FieldException e) {
        return flag(e.field()) + ": " + e.problem();
    }

    /** The option that sets {@code field} of the spec (every disk's fields are --disk's, and so on). */
    static String flag(String field) {
        return switch (field.replaceAll("\\[\\d+]", "")) {
            case "boot.kernel" -> "--kernel";
            case "boot.initrd" -> "--initrd";
            case "boot.cmdline" -> "--cmdline";
            case "boot.stub" -> "--stub";
            case "memory" -> "--mem";
            case "vcpus" -> "--vcpus";
            case "disks", "disks.path", "disks.readOnly" -> "--disk";
            case "nics", "nics.tap", "nics.mac" -> "--net";
            case "onReboot" -> "--on-reboot";
            default -> field;
        };
    }

    /** Runs the command line (without the leading {@code vm run}) and returns the exit status. */
    static int run(List<String> args) throws InterruptedException {
        BootTrace.mark("vm-run");
        // Meanwhile the options are read and the VM made (docs/BENCHMARKS.md (f)).
        Libc.linkAhead();
        BootTrace.mark("link-ahead-started");
        Options options;
        VmSpec spec;
        try {
            options = Options.parse(args);
            BootTrace.mark("options-parsed");
            if (options.help()) {
                System.out.print(HELP);
                System.out.flush();
                return 0;
            }
            if (options.pageMerging()) PageMerging.enable("aether vm run", System.err);
            BootTrace.mark("page-merging-asked");
            spec = withMacs(options.spec(), () -> UUID.randomUUID().toString());
            BootTrace.mark("spec-built");
            // Files first, so that a missing kernel is named before what the host can boot.
            spec.checkHost(VmSpec.MAX_VCPUS);
            BootTrace.mark("spec-files-checked");
        } catch (FieldException e) {
            System.err.println("aether vm run: " + inFlags(e));
            return STATUS_BAD_ARGUMENTS;
        } catch (IllegalArgumentException e) {
            System.err.println("aether vm run: " + e.getMessage());
            return STATUS_BAD_ARGUMENTS;
        }
        try {
            KvmHost.requireLinuxBootable(spec, Path.of("/"));
        } catch (VmCreationException e) {
            System.err.println("aether vm run: " + e.getMessage());
            return new StopReason.HostError(e.getMessage()).exitStatus();
        }
        BootTrace.mark("spec-checked");
        return runConsole(spec, options.traceExits() || options.debug(), options.debug());
    }

    /**
     * Runs the VM with the console on standard input and output until it stops; a reboot with
     * restart-on-reboot builds it again. SIGINT/SIGTERM stop it cleanly (disks flushed).
     *
     * @param traceExits print every vCPU exit on standard error
     * @param debug single-step the guest ({@link MicroVm#enableGuestDebug})
     */
    static int runConsole(VmSpec spec, boolean traceExits, boolean debug) throws InterruptedException {
        OutputStream console = ConsoleSession.lineFlushing(new FileOutputStream(FileDescriptor.out));
        PrintStream trace = traceExits ? new PrintStream(new FileOutputStream(FileDescriptor.err), true) : null;
        Terminal terminal = Terminal.rawIfTerminal(0);
        CountDownLatch done = new CountDownLatch(1);
        MicroVm[] current = new MicroVm[1];
        Thread hook = new Thread(() -> {
            signalled = true;
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
        BootTrace.mark("console-ready");
        try {
            while (true) {
                MicroVm vm;
                try {
                    vm = MicroVm.create(spec, console, trace);
                    if (debug) debug(vm);
                } catch (FieldException e) {
                    System.err.println("aether vm run: " + inFlags(e));
                    return STATUS_BAD_ARGUMENTS;
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
                if (reason instanceof StopReason.Reboot && spec.onReboot() == VmSpec.OnReboot.RESTART) {
                    System.err.println("\r\naether: guest rebooted; restarting the VM");
                    continue;
                }
                boolean expected = reason instanceof StopReason.PowerOff || reason instanceof StopReason.Halted
                        || reason instanceof StopReason.Reboot;
                if (!expected || traceExits) {
                    System.err.println("\r\naether: " + reason.message());
                }
                return reason.exitStatus();
            }
        } catch (java.io.IOException e) {
            return 0;
        } finally {
            BootTrace.print(System.err);
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
