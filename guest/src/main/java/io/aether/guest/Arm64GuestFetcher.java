package io.aether.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * {@code aether guest fetch --arch arm64}: Debian trixie's arm64 cloud kernel and static busybox,
 * the virtio modules decompressed (Debian ships them xz-compressed; busybox's insmod takes plain
 * {@code .ko}), and the same initramfs as the x86_64 guest's, built by the project's cpio writer.
 * The packages come through a {@link PrivateApt} under the cache directory: the machine's apt
 * configuration never learns of arm64 or trixie. Cached in {@code <cache>/arm64/<kernel release>/}.
 */
public final class Arm64GuestFetcher {

    static final String SUITE = "trixie";
    static final String ARCHITECTURE = "arm64";
    public static final String KERNEL_METAPACKAGE = "linux-image-cloud-arm64";
    /**
     * The applets the guest's init and a shell session use, linked where busybox would put them:
     * an arm64 busybox cannot run here to list its own ({@code --list-full}).
     */
    static final List<String> APPLETS = List.of("bin/sh", "bin/ash", "bin/cat", "bin/cp", "bin/dd", "bin/df", "bin/dmesg",
            "bin/echo", "bin/grep", "bin/hostname", "bin/ln", "bin/ls", "bin/mkdir", "bin/mount", "bin/mv", "bin/ps", "bin/rm",
            "bin/sed", "bin/sleep", "bin/sync", "bin/umount", "bin/uname", "bin/vi", "bin/cttyhack", "sbin/insmod", "sbin/lsmod",
            "sbin/poweroff", "sbin/reboot", "sbin/ip", "sbin/ifconfig", "usr/bin/free", "usr/bin/head", "usr/bin/nproc",
            "usr/bin/printf", "usr/bin/setsid", "usr/bin/tail", "usr/bin/wc");
    /** Where the virtio drivers and what they depend on (net_failover, failover) live in the module tree. */
    static final List<String> MODULE_DIRECTORIES = List.of("drivers/virtio", "drivers/block", "drivers/net", "drivers/char/hw_random",
            "net/core");
    private static final Duration XZ_TIMEOUT = Duration.ofMinutes(5);

    private final Path root;
    private final Consumer<String> progress;

    /** @param cacheRoot the x86_64 guests' cache root; arm64 guests go in its {@code arm64/} */
    public Arm64GuestFetcher(Path cacheRoot, Consumer<String> progress) {
        this.root = cacheRoot.resolve(ARCHITECTURE);
        this.progress = progress;
    }

    /** What the cache must have been built by: the x86_64 guest's recipe and the applet list. */
    static String recipe() {
        return GuestFetcher.recipe() + "-arm64-" + Integer.toHexString(APPLETS.hashCode());
    }

    /** Fetches (or reuses) the arm64 guest. */
    public GuestArtifacts fetch(boolean refresh) throws IOException {
        Files.createDirectories(root);
        progress.accept("reading Debian " + SUITE + "'s arm64 package lists into a private apt state in " + root.resolve(".apt"));
        PrivateApt apt = PrivateApt.create(root.resolve(".apt"), SUITE, ARCHITECTURE);
        apt.update();
        String imageName = apt.dependencyOf(KERNEL_METAPACKAGE, "linux-image-");
        String release = imageName.substring("linux-image-".length());
        if (!GuestManifest.isRelease(release)) throw new GuestFetchException("looking up " + KERNEL_METAPACKAGE + ": odd kernel release '" + release + "'");
        Path dir = root.resolve(release);
        if (!refresh) {
            var cached = GuestManifest.read(dir).filter(m -> m.kernelPackage().equals(imageName) && m.recipe().equals(recipe()));
            if (cached.isPresent()) {
                progress.accept("using the cached arm64 guest " + release + " in " + dir + " (--refresh fetches it again)");
                return cached.get().artifacts(dir, true);
            }
        }
        Path stage = Files.createTempDirectory(root, ".build-");
        try {
            progress.accept("downloading " + imageName + " and " + GuestFetcher.BUSYBOX_PACKAGE + " (arm64)");
            List<PrivateApt.Fetched> debs = apt.download(List.of(imageName, GuestFetcher.BUSYBOX_PACKAGE),
                    Files.createDirectories(stage.resolve("debs")));
            Path kernelTree = stage.resolve("kernel-package");
            Path busyboxTree = stage.resolve("busybox-package");
            apt.unpack(debs.get(0).deb(), kernelTree);
            apt.unpack(debs.get(1).deb(), busyboxTree);

            Path out = Files.createDirectories(stage.resolve("guest"));
            Path vmlinuz = kernelTree.resolve("boot").resolve("vmlinuz-" + release);
            if (!Files.isRegularFile(vmlinuz)) throw new GuestFetchException("unpacking " + imageName + ": no boot/vmlinuz-" + release + " in it");
            Files.copy(vmlinuz, out.resolve(GuestManifest.KERNEL));
            Path busybox = Stream.of("bin/busybox", "usr/bin/busybox").map(busyboxTree::resolve).filter(Files::isRegularFile).findFirst()
                    .orElseThrow(() -> new GuestFetchException("unpacking " + GuestFetcher.BUSYBOX_PACKAGE + ": no bin/busybox in it"));
            Path busyboxOut = out.resolve(GuestManifest.BUSYBOX);
            Files.copy(busybox, busyboxOut);
            busyboxOut.toFile().setExecutable(true, false);

            Path modulesOut = Files.createDirectories(out.resolve(GuestManifest.MODULES));
            KernelModules modules = KernelModules.scan(decompressedModules(kernelTree, release, imageName, stage));
            List<String> guestFiles = GuestFetcher.copyModules(modules, GuestFetcher.GUEST_MODULES, modulesOut);
            progress.accept("modules in load order: " + String.join(" ", guestFiles));

            Initramfs initramfs = GuestImage.layout(busyboxOut, APPLETS, guestFiles.stream().map(modulesOut::resolve).toList());
            initramfs.write(out.resolve(GuestManifest.INITRAMFS), true);
            new GuestManifest(imageName, debs.get(0).version(), release, debs.get(1).version(), recipe(), guestFiles, List.of())
                    .write(out.resolve(GuestManifest.FILE));
            GuestFetcher.install(out, dir);
            progress.accept("cached the arm64 guest in " + dir);
            return GuestManifest.read(dir)
                    .orElseThrow(() -> new GuestFetchException("caching the arm64 guest: " + dir + " is incomplete after the build"))
                    .artifacts(dir, false);
        } finally {
            GuestFetcher.deleteTree(stage);
        }
    }

    /** The {@code .ko.xz} files of {@link #MODULE_DIRECTORIES}, decompressed in a copy of their tree under {@code stage}. */
    private static Path decompressedModules(Path kernelTree, String release, String imageName, Path stage) throws IOException {
        Path tree = GuestFetcher.moduleTree(kernelTree, release, imageName);
        Path plain = stage.resolve("modules-plain");
        List<String> command = new ArrayList<>(List.of("xz", "-d"));
        for (String sub : MODULE_DIRECTORIES) {
            Path from = tree.resolve(sub);
            if (!Files.isDirectory(from)) continue;
            try (Stream<Path> walk = Files.walk(from)) {
                for (Path xz : walk.filter(p -> p.getFileName().toString().endsWith(".ko.xz")).toList()) {
                    Path copy = plain.resolve(tree.relativize(xz).toString());
                    Files.createDirectories(copy.getParent());
                    Files.copy(xz, copy);
                    command.add(copy.toString());
                }
            }
        }
        if (command.size() > 2) Commands.require("decompressing the kernel's modules", stage, XZ_TIMEOUT, command);
        return plain;
    }
}
