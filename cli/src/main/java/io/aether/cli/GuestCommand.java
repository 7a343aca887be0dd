package io.aether.cli;

import io.aether.guest.Arm64GuestFetcher;
import io.aether.guest.GuestArtifacts;
import io.aether.guest.GuestFetcher;
import io.aether.guest.GuestInit;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code aether guest}: the stock Linux guest that {@code aether vm run} boots in tests, demos and benchmarks. */
@Command(name = "guest",
        mixinStandardHelpOptions = true,
        description = {
            "A ready-to-boot Linux guest for aether vm run: Debian's stock cloud kernel and a small busybox initramfs.",
            "",
            "The initramfs loads the virtio drivers (mmio, blk, net, rng), prints " + GuestInit.READY_MARKER
                    + " on the serial console and opens a shell there; leaving the shell powers the guest off, so the"
                    + " monitor exits with status 0. With " + GuestInit.POWEROFF_PARAMETER + " on the kernel command"
                    + " line the guest powers off right after the marker instead (boot-time benchmarks).",
            ""},
        subcommands = {GuestCommand.Fetch.class})
public final class GuestCommand {

    @Command(name = "fetch",
            mixinStandardHelpOptions = true,
            description = {
                "Download and cache the guest kernel and initramfs.",
                "",
                "Downloads Debian's linux-image-cloud-amd64 and busybox-static with apt-get download (nothing is"
                        + " installed), unpacks them, builds the initramfs and caches everything under"
                        + " $XDG_CACHE_HOME/aether/guest/<kernel release>/ (by default ~/.cache/aether/guest/...)."
                        + " A later fetch reuses the cache while apt names the same package versions. The cache also"
                        + " holds the kernel's irqbypass, kvm, kvm-amd and tun modules for the nested test host.",
                "",
                "Progress goes to stderr, the paths to stdout. Then boot the guest, for example:",
                "  aether vm run --kernel KERNEL --initrd INITRAMFS --cmdline console=ttyS0 --mem 256M",
                ""},
            exitCodeListHeading = "%nExit status:%n",
            exitCodeList = {"0:the guest is cached", "1:a step failed (the message names it)", "2:bad options"})
    static final class Fetch implements Callable<Integer> {

        @Spec
        CommandSpec spec;

        @Option(names = "--cache-dir", paramLabel = "DIR",
                description = "Where to cache guests (default: ${DEFAULT-VALUE}).")
        Path cacheDir = GuestFetcher.defaultCacheRoot();

        @Option(names = "--refresh", description = "Download and build again even if the cache is up to date.")
        boolean refresh;

        @Option(names = "--print-paths",
                description = "Print only two lines, the kernel's path and the initramfs's path (for scripts).")
        boolean printPaths;

        @Option(names = "--json", description = "Print the result as one JSON object (for scripts).")
        boolean json;

        @Option(names = {"-q", "--quiet"}, description = "Print no progress on stderr.")
        boolean quiet;

        @Option(names = "--arch", paramLabel = "ARCH",
                description = "amd64 or arm64: the guest's architecture (default: this host's, ${DEFAULT-VALUE}). arm64 fetches"
                        + " Debian trixie's linux-image-cloud-arm64 and busybox-static through a private apt state in the cache"
                        + " directory (the machine's apt configuration is left alone) into <cache>/arm64/<kernel release>/.")
        String arch = "aarch64".equals(System.getProperty("os.arch")) ? "arm64" : "amd64";

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            if (printPaths && json) {
                throw new ParameterException(spec.commandLine(), "choose one of --print-paths and --json");
            }
            if (!arch.equals("amd64") && !arch.equals("arm64")) {
                throw new ParameterException(spec.commandLine(), "--arch: '" + arch + "' is not amd64 or arm64");
            }
            java.util.function.Consumer<String> progress = line -> {
                if (!quiet) {
                    err.println("aether guest: " + line);
                    err.flush();
                }
            };
            GuestArtifacts guest;
            try {
                guest = arch.equals("arm64") ? new Arm64GuestFetcher(cacheDir, progress).fetch(refresh)
                        : new GuestFetcher(cacheDir, progress).fetch(refresh);
            } catch (IOException e) {
                err.println("aether guest fetch: " + e.getMessage());
                err.flush();
                return 1;
            }
            if (json) {
                out.println(guest.toJson());
            } else if (printPaths) {
                out.println(guest.kernel());
                out.println(guest.initramfs());
            } else {
                out.println("kernel:    " + guest.kernel() + "  (Linux " + guest.kernelRelease() + ", Debian "
                        + guest.kernelPackageVersion() + ")");
                out.println("initramfs: " + guest.initramfs());
                out.println((guest.reused() ? "reused the cache in " : "cached in ") + guest.directory());
                out.println("boot it:   aether vm run --kernel " + guest.kernel() + " --initrd " + guest.initramfs()
                        + " --cmdline 'console=ttyS0 quiet' --mem 256M");
            }
            out.flush();
            return 0;
        }
    }
}
