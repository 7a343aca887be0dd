package io.aether.testhost;

import io.aether.guest.Initramfs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalInt;
import java.util.regex.Matcher;

/**
 * A real arm64 KVM on any machine: QEMU emulates an arm64 {@code virt} machine with EL2
 * ({@code virtualization=on}, GICv3, {@code -cpu max}), Debian's arm64 cloud kernel boots in
 * it at EL2 and its built-in KVM offers {@code /dev/kvm} (L1), and an {@link Arm64Program}
 * runs there on Debian's arm64 Java runtime. The x86 {@link TestHost}'s counterpart for the
 * aarch64 monitor.
 *
 * <pre>{@code
 * Arm64TestHost host = Arm64TestHost.shared();   // an IOException naming the reason when it cannot work
 * try (GuestRun run = host.start(new Arm64Program(Main.class.getName(), classpath, List.of(), Duration.ofMinutes(2)))) {
 *     run.console().expectLine(Arm64TestHost.KVM_PRESENT);
 *     ...
 *     assertEquals(0, run.awaitExit(Duration.ofMinutes(1)));   // the program's exit status
 * }
 * }</pre>
 * The arm64 packages are fetched once into {@code ~/.cache/aether/arm64-host} (see
 * {@link Arm64HostFiles}); each run writes its initramfs afresh. QEMU takes both cores of a
 * small machine: runs are best not overlapped with the x86 nested host's.
 */
public final class Arm64TestHost {

    /** The emulated machine: EL2 for KVM, GICv3 (the only vGIC L1's KVM offers), 2 cores for the JVM. */
    static final List<String> L1_MACHINE = List.of("-M", "virt,virtualization=on,gic-version=3",
            // Without pauth-impdef, emulating pointer authentication triples L1's boot time.
            "-cpu", "max,pauth-impdef=on", "-accel", "tcg,thread=multi", "-smp", "2", "-m", "4G",
            "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot");
    static final String L1_CMDLINE = "console=ttyAMA0 quiet panic=-1";
    static final String QEMU = "qemu-system-aarch64";

    /** The line L1 prints when its KVM is there, with KVM's start-up line (VHE or nVHE) after it. */
    public static final String KVM_PRESENT = Arm64HostImage.KVM + " present: .*";

    private static final Object SETUP = new Object();
    private static Arm64TestHost shared;
    private static String unavailable;

    private final Path qemu;
    private final Arm64HostFiles files;

    private Arm64TestHost(Path qemu, Arm64HostFiles files) {
        this.qemu = qemu;
        this.files = files;
    }

    /**
     * The arm64 test host of this machine, prepared once per JVM and shared. A machine that
     * cannot run it (no {@code qemu-system-aarch64}, no way to fetch the packages) is an
     * exception with the reason, remembered so that later callers get it at once; tests turn
     * it into a skip, or a failure under {@code CI=true} (the testkit's {@code Prerequisites}).
     */
    public static Arm64TestHost shared() throws IOException {
        synchronized (SETUP) {
            if (shared != null) {
                return shared;
            }
            if (unavailable == null) {
                try {
                    shared = prepare(System.getenv("PATH"), Arm64HostFiles.defaultDirectory());
                    return shared;
                } catch (IOException e) {
                    unavailable = e.getMessage();
                }
            }
            throw new IOException(unavailable);
        }
    }

    static Arm64TestHost prepare(String path, Path cache) throws IOException {
        Path qemu = HostProbe.onPath(QEMU, path).orElseThrow(() -> new IOException("no " + QEMU
                + " on PATH to emulate the arm64 test host (apt-get install qemu-system-arm)"));
        Arm64HostFiles files;
        try {
            files = Arm64HostFiles.ensure(cache, Arm64TestHost::progress);
        } catch (IOException e) {
            throw new IOException("cannot fetch the arm64 test host's packages (apt and network to Debian's mirror are"
                    + " needed once): " + e.getMessage(), e);
        }
        progress("L0 " + qemu + "; " + String.join(" ", files.packages()));
        return new Arm64TestHost(qemu, files);
    }

    /** L1's kernel, Debian's stock arm64 cloud {@code Image}: a guest kernel for a monitor running in L1 too. */
    public Path kernel() {
        return files.kernel();
    }

    /** The static arm64 busybox, for a guest's initramfs. */
    public Path busybox() {
        return files.busybox();
    }

    /**
     * The virtio-mmio, virtio-blk and virtio-rng modules of {@link #kernel()}, decompressed, in
     * load order: for a guest of that kernel that uses its disks and entropy device. Fetched once (see {@link Arm64GuestModules}).
     */
    public List<Path> guestModules() throws IOException {
        return modules().files();
    }

    /**
     * The modules L1's own kernel lacks for some programs, decompressed, in load order: {@code
     * tun}, for a TAP (the program loads it; L1's init loads nothing). Fetched with {@link #guestModules}.
     */
    public List<Path> hostModules() throws IOException {
        return modules().hostFiles();
    }

    private Arm64GuestModules modules() throws IOException {
        List<String> kernelPackage = Arm64GuestModules.kernelPackage(files.packages());
        return Arm64GuestModules.ensure(files.directory().getParent(), kernelPackage.get(0), kernelPackage.get(1),
                Arm64TestHost::progress);
    }

    /** Starts L1 running {@code program}; the caller closes the returned run. */
    public GuestRun start(Arm64Program program) throws IOException {
        long t0 = System.nanoTime();
        Arm64HostImage image = new Arm64HostImage(files, program, TestHost.NESTED_JVM_OPTIONS);
        Initramfs layout = image.layout();
        Path initrd = Files.createTempFile("aether-arm64-l1-", ".cpio");
        Process process;
        try {
            layout.write(initrd, false);
            progress(String.format(Locale.ROOT, "L1 initramfs: %d entries, %.0f MiB, written in %.1f s",
                    layout.entries().size(), Files.size(initrd) / 1048576.0, (System.nanoTime() - t0) / 1e9));
            process = new ProcessBuilder(command(qemu, files.kernel(), initrd)).start();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(initrd);
            throw e;
        }
        progress("booting L1 to run " + program.mainClass());
        return new GuestRun(HostProbe.Mode.NESTED, process, program.timeout(), run -> exitStatus(run.transcript()),
                () -> Files.deleteIfExists(initrd));
    }

    /** QEMU's command line for L1. */
    static List<String> command(Path qemu, Path kernel, Path initrd) {
        List<String> command = new ArrayList<>();
        command.add(qemu.toString());
        command.addAll(L1_MACHINE);
        command.addAll(List.of("-kernel", kernel.toString(), "-initrd", initrd.toString(), "-append", L1_CMDLINE));
        return command;
    }

    /** The program's status from L1's last {@code AETHER-ARM64-EXIT <n>} line. */
    static OptionalInt exitStatus(String transcript) {
        OptionalInt status = OptionalInt.empty();
        for (String line : transcript.lines().toList()) {
            Matcher m = Arm64HostImage.EXIT_LINE.matcher(line);
            if (m.matches()) {
                status = OptionalInt.of(Integer.parseInt(m.group(1)));
            }
        }
        return status;
    }

    private static void progress(String line) {
        TestHost.progress("arm64: " + line);
    }
}
