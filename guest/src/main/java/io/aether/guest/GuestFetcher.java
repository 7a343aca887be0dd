package io.aether.guest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Fetches a guest to boot: Debian's stock cloud kernel and an initramfs built around a static
 * busybox, cached under {@code <cache>/<kernel release>/}.
 *
 * <p>Steps: ask apt which versioned package {@code linux-image-cloud-amd64} stands for;
 * download it and {@code busybox-static} with {@code apt-get download} (nothing is
 * installed); unpack both with {@code dpkg-deb -x}; pick the virtio modules and the nested
 * test host's modules and order them by their {@code .modinfo} dependencies; write the
 * initramfs with {@link Initramfs}. A later fetch finds the cache by the release apt names
 * and reuses it when the package versions and the build recipe are unchanged. When apt does
 * not know the packages (no package lists), a root user's fetch runs {@code apt-get update}
 * once; without apt answers, the newest complete cache is used.
 *
 * <p>Cache layout: {@code vmlinuz}, {@code initramfs.cpio.gz}, {@code busybox},
 * {@code modules/*.ko}, {@code manifest.properties} (written last).
 */
public final class GuestFetcher {

    /** The Debian metapackage that always depends on the newest cloud kernel. */
    public static final String KERNEL_METAPACKAGE = "linux-image-cloud-amd64";
    /** The Debian package of a statically linked busybox. */
    public static final String BUSYBOX_PACKAGE = "busybox-static";
    /** The guest's drivers (their dependencies come along). */
    public static final List<String> GUEST_MODULES = List.of("virtio_mmio", "virtio_blk", "virtio_net", "virtio_rng");
    /** What a nested test host (an emulated AMD CPU with SVM) loads to offer /dev/kvm and TAP devices. */
    public static final List<String> HOST_MODULES = List.of("kvm_amd", "tun");

    private static final String IMAGE_PREFIX = "linux-image-";
    private static final Duration BUSYBOX_TIMEOUT = Duration.ofSeconds(30);

    private final Path cacheRoot;
    private final Consumer<String> progress;
    private boolean listsRefreshed;

    /**
     * @param cacheRoot where guests are cached, e.g. {@link #defaultCacheRoot()}
     * @param progress  receives one line per step (a CLI prints them on stderr)
     */
    public GuestFetcher(Path cacheRoot, Consumer<String> progress) {
        this.cacheRoot = cacheRoot.toAbsolutePath();
        this.progress = progress;
    }

    /** Aether's cache directory: {@code $XDG_CACHE_HOME/aether}, else {@code ~/.cache/aether}. */
    public static Path userCacheDirectory() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()
                ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("aether");
    }

    /** The default guest cache: {@code guest/} in {@link #userCacheDirectory()}. */
    public static Path defaultCacheRoot() {
        return userCacheDirectory().resolve("guest");
    }

    /**
     * Returns the cached guest for the current kernel package, fetching and building it first
     * when the cache lacks it or {@code refresh} is set.
     *
     * @throws GuestFetchException naming the step that failed
     */
    public GuestArtifacts fetch(boolean refresh) throws IOException {
        Files.createDirectories(cacheRoot);
        Apt apt = new Apt(cacheRoot);
        progress.accept("looking up " + KERNEL_METAPACKAGE + " and " + BUSYBOX_PACKAGE + " with apt");
        Optional<Apt.Package> meta = lookup(apt, KERNEL_METAPACKAGE);
        if (meta.isEmpty()) {
            Optional<GuestArtifacts> newest = refresh ? Optional.empty() : newestCached();
            if (newest.isPresent()) {
                progress.accept("apt does not know " + KERNEL_METAPACKAGE + "; using the cached guest in "
                        + newest.get().directory());
                return newest.get();
            }
            throw new GuestFetchException("looking up " + KERNEL_METAPACKAGE + ": apt does not know this package"
                    + " (are the package lists missing?)" + (isRoot() ? "" : "; run `apt-get update` as root and retry"));
        }
        String imageName = Apt.dependencyStartingWith(meta.get().depends(), IMAGE_PREFIX)
                .orElseThrow(() -> new GuestFetchException("looking up " + KERNEL_METAPACKAGE
                        + ": its Depends names no " + IMAGE_PREFIX + "* package: '" + meta.get().depends() + "'"));
        Apt.Package image = lookup(apt, imageName).orElseThrow(() -> new GuestFetchException(
                "looking up " + imageName + " (named by " + KERNEL_METAPACKAGE + "): apt does not know it"));
        Apt.Package busybox = lookup(apt, BUSYBOX_PACKAGE).orElseThrow(() -> new GuestFetchException(
                "looking up " + BUSYBOX_PACKAGE + ": apt does not know this package"));
        String release = imageName.substring(IMAGE_PREFIX.length());
        if (!GuestManifest.isRelease(release)) {
            throw new GuestFetchException("looking up " + KERNEL_METAPACKAGE + ": odd kernel release '" + release + "'");
        }
        Path dir = cacheRoot.resolve(release);
        String recipe = recipe();
        if (!refresh) {
            Optional<GuestManifest> cached = GuestManifest.read(dir);
            if (cached.isPresent() && matches(cached.get(), image, busybox, recipe)) {
                progress.accept("using the cached guest " + release + " in " + dir + " (--refresh fetches it again)");
                return cached.get().artifacts(dir, true);
            }
        }
        return build(apt, image, busybox, release, recipe, dir);
    }

    private static boolean matches(GuestManifest m, Apt.Package image, Apt.Package busybox, String recipe) {
        return m.kernelPackage().equals(image.name()) && m.kernelVersion().equals(image.version())
                && m.busyboxVersion().equals(busybox.version()) && m.recipe().equals(recipe);
    }

    private GuestArtifacts build(Apt apt, Apt.Package image, Apt.Package busybox, String release, String recipe,
                                 Path dir) throws IOException {
        Path stage = Files.createTempDirectory(cacheRoot, ".build-");
        try {
            Path debs = Files.createDirectories(stage.resolve("debs"));
            progress.accept("downloading " + image.name() + " " + image.version() + " (" + size(image.size()) + ") and "
                    + busybox.name() + " " + busybox.version() + " (" + size(busybox.size()) + ")");
            long t0 = System.nanoTime();
            List<Path> files = apt.download(List.of(image, busybox), debs);
            progress.accept("downloaded in " + seconds(System.nanoTime() - t0) + "; unpacking");
            Path kernelTree = stage.resolve("kernel-package");
            Path busyboxTree = stage.resolve("busybox-package");
            apt.extract(files.get(0), kernelTree);
            apt.extract(files.get(1), busyboxTree);

            Path out = Files.createDirectories(stage.resolve("guest"));
            Path modulesOut = Files.createDirectories(out.resolve(GuestManifest.MODULES));
            Path vmlinuz = kernelTree.resolve("boot").resolve("vmlinuz-" + release);
            if (!Files.isRegularFile(vmlinuz)) {
                throw new GuestFetchException("unpacking " + image.name() + ": no boot/vmlinuz-" + release + " in it");
            }
            Files.copy(vmlinuz, out.resolve(GuestManifest.KERNEL));
            Path busyboxBinary = busyboxTree.resolve("bin").resolve("busybox");
            if (!Files.isRegularFile(busyboxBinary)) {
                throw new GuestFetchException("unpacking " + busybox.name() + ": no bin/busybox in it");
            }
            Path busyboxOut = out.resolve(GuestManifest.BUSYBOX);
            Files.copy(busyboxBinary, busyboxOut);
            busyboxOut.toFile().setExecutable(true, false);

            KernelModules modules = KernelModules.scan(moduleTree(kernelTree, release, image.name()));
            List<String> guestFiles = copyModules(modules, GUEST_MODULES, modulesOut);
            List<String> hostFiles = copyModules(modules, HOST_MODULES, modulesOut);
            progress.accept("modules in load order: guest " + String.join(" ", guestFiles)
                    + "; nested host " + String.join(" ", hostFiles));

            List<String> applets = Commands.require("listing the busybox applets", stage, BUSYBOX_TIMEOUT,
                    List.of(busyboxOut.toString(), "--list-full")).stdout().lines().toList();
            Initramfs initramfs = GuestImage.layout(busyboxOut, applets,
                    guestFiles.stream().map(modulesOut::resolve).toList());
            Path initramfsOut = out.resolve(GuestManifest.INITRAMFS);
            initramfs.write(initramfsOut, true);
            progress.accept("built the initramfs: " + initramfs.entries().size() + " entries, "
                    + size(initramfs.contentSize()) + " of files, " + size(Files.size(initramfsOut)) + " compressed");

            GuestManifest manifest = new GuestManifest(image.name(), image.version(), release, busybox.version(),
                    recipe, guestFiles, hostFiles);
            manifest.write(out.resolve(GuestManifest.FILE));
            install(out, dir);
            progress.accept("cached the guest in " + dir);
            return GuestManifest.read(dir)
                    .orElseThrow(() -> new GuestFetchException("caching the guest: " + dir + " is incomplete after the build"))
                    .artifacts(dir, false);
        } finally {
            deleteTree(stage);
        }
    }

    /** Bookworm's packages put modules in /lib/modules; merged-/usr packages in /usr/lib/modules. */
    static Path moduleTree(Path kernelTree, String release, String image) throws GuestFetchException {
        for (Path base : List.of(kernelTree.resolve("lib/modules"), kernelTree.resolve("usr/lib/modules"))) {
            Path tree = base.resolve(release).resolve("kernel");
            if (Files.isDirectory(tree)) {
                return tree;
            }
        }
        throw new GuestFetchException("unpacking " + image + ": no lib/modules/" + release + "/kernel in it");
    }

    static List<String> copyModules(KernelModules modules, List<String> wanted, Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        for (KernelModules.Module m : modules.loadOrder(wanted)) {
            String file = m.file().getFileName().toString();
            Path target = dir.resolve(file);
            if (!Files.exists(target)) {
                Files.copy(m.file(), target);
            }
            names.add(file);
        }
        return names;
    }

    /** Moves the finished {@code out} into place; a concurrent fetch that got there first wins. */
    static void install(Path out, Path dir) throws IOException {
        if (Files.exists(dir)) {
            deleteTree(dir);
        }
        try {
            Files.move(out, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // A concurrent fetch may have installed the same guest in the meantime: use it.
            if (GuestManifest.read(dir).isEmpty()) {
                throw new GuestFetchException("caching the guest: cannot move the build into " + dir + ": " + e, e);
            }
        }
    }

    private Optional<Apt.Package> lookup(Apt apt, String name) throws IOException {
        Optional<Apt.Package> found = apt.show(name);
        if (found.isEmpty() && !listsRefreshed && isRoot()) {
            listsRefreshed = true;
            progress.accept("apt does not know " + name + " (no package lists?); running apt-get update once");
            apt.update();
            found = apt.show(name);
        }
        return found;
    }

    private Optional<GuestArtifacts> newestCached() throws IOException {
        String recipe = recipe();
        try (Stream<Path> dirs = Files.list(cacheRoot)) {
            return dirs.filter(d -> !d.getFileName().toString().startsWith("."))
                    .filter(Files::isDirectory)
                    .flatMap(d -> GuestManifest.read(d).filter(m -> m.recipe().equals(recipe)).stream()
                            .map(m -> m.artifacts(d, true)))
                    .max(Comparator.comparing(a -> lastModified(a.directory().resolve(GuestManifest.FILE))));
        }
    }

    private static long lastModified(Path p) {
        try {
            return Files.getLastModifiedTime(p).toMillis();
        } catch (IOException e) {
            return Long.MIN_VALUE;
        }
    }

    /**
     * A fingerprint of how this code builds a guest (its module choice and its /init), so a
     * cache made by an older build of Aether is rebuilt rather than reused.
     */
    static String recipe() {
        String text = GUEST_MODULES + "\n" + HOST_MODULES + "\n"
                + GuestInit.script(GUEST_MODULES.stream().map(m -> m + ".ko").toList());
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static boolean isRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    static String size(long bytes) {
        if (bytes < 0) {
            return "size unknown";
        }
        if (bytes < 1 << 20) {
            return String.format(Locale.ROOT, "%.0f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1 << 20));
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
