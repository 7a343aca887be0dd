package io.aether.testhost;

import io.aether.guest.PrivateApt;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The virtio-mmio, virtio-blk and virtio-rng modules of the kernel package L1 boots, for an L2 guest of that
 * same kernel under Aether (Debian's arm64 cloud kernel builds them as modules, xz-compressed:
 * they are decompressed here, as busybox's insmod takes plain {@code .ko} files). Fetched once
 * with a {@link PrivateApt} into {@code guest-modules/<kernel package>_<version>-<recipe>/} beside
 * the host's files, apart from them so that the host's cache stays as it is.
 *
 * @param directory where the modules lie
 */
record Arm64GuestModules(Path directory) {

    /** In load order: the transport, then the drivers on it (file names as kbuild writes them). */
    static final List<String> MODULES = List.of("virtio_mmio", "virtio_blk", "virtio-rng");
    /** For L1 itself, which runs the same kernel: tun, for the TAP a monitor in L1 gives its guest. */
    static final List<String> HOST_MODULES = List.of("tun");
    /** Bumped when {@link #MODULES} or {@link #HOST_MODULES} change, so that an older cache is fetched again. */
    static final String RECIPE = "3";
    private static final String DONE = "complete";

    /** The module files, in load order. */
    List<Path> files() {
        return MODULES.stream().map(m -> directory.resolve(m + ".ko")).toList();
    }

    /** The {@link #HOST_MODULES} files, in load order. */
    List<Path> hostFiles() {
        return HOST_MODULES.stream().map(m -> directory.resolve(m + ".ko")).toList();
    }

    /**
     * The modules of {@code kernelPackage} at {@code version} (as the host's manifest names them),
     * fetched first when not cached; refused when the mirror now has another version, whose
     * modules that kernel would not load.
     */
    static Arm64GuestModules ensure(Path cache, String kernelPackage, String version, Consumer<String> progress) throws IOException {
        Path directory = cache.resolve("guest-modules").resolve(kernelPackage + "_" + version.replace(':', '%') + "-" + RECIPE);
        if (Files.isRegularFile(directory.resolve(DONE))) return new Arm64GuestModules(directory);
        Files.createDirectories(directory.getParent());
        synchronized (Arm64GuestModules.class) {
            try (FileChannel channel = FileChannel.open(cache.resolve("fetch.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                 FileLock lock = channel.lock()) {
                if (!Files.isRegularFile(directory.resolve(DONE))) fetch(cache, kernelPackage, version, directory, progress);
                return new Arm64GuestModules(directory);
            }
        }
    }

    private static void fetch(Path cache, String kernelPackage, String version, Path directory, Consumer<String> progress)
            throws IOException {
        List<String> modules = Stream.concat(MODULES.stream(), HOST_MODULES.stream()).toList();
        progress.accept("fetching " + kernelPackage + " " + version + " for its " + String.join(", ", modules) + " modules, once");
        Path work = Files.createTempDirectory(cache, ".modules-");
        try {
            PrivateApt apt = PrivateApt.create(work.resolve("apt"), Arm64HostFiles.SUITE, Arm64HostFiles.ARCHITECTURE);
            apt.update();
            PrivateApt.Fetched deb = apt.download(List.of(kernelPackage), Files.createDirectories(work.resolve("debs"))).getFirst();
            if (!deb.version().equals(version)) {
                throw new IOException(kernelPackage + ": the mirror has version " + deb.version() + ", the host's kernel is " + version
                        + "; its modules would not load (delete " + cache.resolve("files") + " to fetch both again)");
            }
            Path tree = work.resolve("kernel-package");
            apt.unpack(deb.deb(), tree);
            Path staged = Files.createDirectories(work.resolve("modules"));
            for (String module : modules) decompress(find(tree, module), staged.resolve(module + ".ko"));
            Files.writeString(staged.resolve(DONE), kernelPackage + "=" + version + "\n");
            Files.move(staged, directory, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            JdkImage.deleteTree(work);
        }
    }

    /** {@code <module>.ko.xz} anywhere under the package's module tree. */
    private static Path find(Path tree, String module) throws IOException {
        try (Stream<Path> walk = Files.walk(tree)) {
            return walk.filter(p -> p.getFileName().toString().equals(module + ".ko.xz")).findFirst()
                    .orElseThrow(() -> new IOException("the kernel package holds no " + module + ".ko.xz"));
        }
    }

    /** {@code xz -dc}: the JDK reads no xz. */
    private static void decompress(Path xz, Path ko) throws IOException {
        Process p = new ProcessBuilder("xz", "-dc", xz.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try (InputStream in = p.getInputStream()) {
            Files.copy(in, ko);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException("xz could not decompress " + xz);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted decompressing " + xz, e);
        } finally {
            p.destroyForcibly();
        }
    }

    /** The manifest's {@code name=version} of the kernel package, split. */
    static List<String> kernelPackage(List<String> packages) throws IOException {
        for (String p : packages) {
            if (p.startsWith("linux-image-")) {
                int eq = p.indexOf('=');
                if (eq > 0) return List.of(p.substring(0, eq), p.substring(eq + 1));
            }
        }
        throw new IOException("the arm64 host's manifest names no linux-image-* package: " + packages);
    }
}
