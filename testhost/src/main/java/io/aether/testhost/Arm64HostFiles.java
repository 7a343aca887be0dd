package io.aether.testhost;

import io.aether.guest.GuestFetcher;
import io.aether.guest.PrivateApt;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The arm64 pieces of the arm64 test host, from Debian trixie: the cloud kernel (its KVM is
 * built in), a static busybox, and a sysroot holding the arm64 Java runtime with the four
 * libraries it links (glibc, libgcc, libstdc++, zlib). Fetched once with a {@link PrivateApt}
 * (the machine's apt configuration is never changed; nothing is installed) and cached.
 *
 * <p>Cache layout ({@link #defaultDirectory()}): {@code files/} with {@code Image},
 * {@code config} (the kernel's), {@code busybox}, {@code sysroot/} and
 * {@code manifest.properties} (written last: the fetch is complete); {@code fetch.lock}.
 *
 * @param directory the {@code files/} directory
 * @param packages  what was fetched, {@code name=version} each
 */
record Arm64HostFiles(Path directory, List<String> packages) {

    static final String SUITE = "trixie";
    static final String ARCHITECTURE = "arm64";
    static final String KERNEL_METAPACKAGE = "linux-image-cloud-arm64";
    /** The userland: busybox, then the Java runtime and the whole closure of what its binaries link. */
    static final List<String> USERLAND = List.of("busybox-static", "openjdk-25-jre-headless", "libc6", "libgcc-s1",
            "libstdc++6", "zlib1g");
    /** Where Debian puts the runtime, relative to the sysroot (and so inside L1). */
    static final String JAVA_HOME = "usr/lib/jvm/java-25-openjdk-arm64";
    /** Bumped when the fetch or the layout changes, so that older caches are fetched again. */
    static final String RECIPE = "1";

    /**
     * What L1 never uses: documentation, locale converters (20 MiB), and the class-data archives
     * for compact headers or uncompressed pointers (16 MiB each; the default one stays).
     */
    static final List<String> TRIMMED = List.of(JAVA_HOME + "/legal", JAVA_HOME + "/man", JAVA_HOME + "/docs",
            JAVA_HOME + "/lib/server/classes_coh.jsa", JAVA_HOME + "/lib/server/classes_nocoops.jsa",
            JAVA_HOME + "/lib/server/classes_nocoops_coh.jsa", "usr/share", "usr/lib/debug",
            "usr/lib/aarch64-linux-gnu/gconv");

    /** Package lists, packages and the unpacked kernel and runtime take about 700 MB at the peak. */
    private static final long SPACE_NEEDED = 1L << 30;
    private static final String MANIFEST = "manifest.properties";

    Arm64HostFiles {
        packages = List.copyOf(packages);
    }

    /** The kernel, an arm64 {@code Image}. */
    Path kernel() {
        return directory.resolve("Image");
    }

    /** The static arm64 busybox. */
    Path busybox() {
        return directory.resolve("busybox");
    }

    /** The runtime and its libraries at their Debian paths. */
    Path sysroot() {
        return directory.resolve("sysroot");
    }

    /** {@code arm64-host/} in Aether's cache directory ({@code ~/.cache/aether}). */
    static Path defaultDirectory() {
        return GuestFetcher.userCacheDirectory().resolve("arm64-host");
    }

    /**
     * The cached files, fetched first when the cache lacks them or holds an older recipe's (one
     * fetch at a time per cache, across processes and within this one).
     *
     * @throws IOException naming the step that failed
     */
    static Arm64HostFiles ensure(Path cache, Consumer<String> progress) throws IOException {
        Optional<Arm64HostFiles> cached = cached(cache.resolve("files"));
        if (cached.isPresent()) {
            return cached.get();
        }
        Files.createDirectories(cache);
        synchronized (Arm64HostFiles.class) {
            try (FileChannel channel = FileChannel.open(cache.resolve("fetch.lock"), StandardOpenOption.CREATE,
                    StandardOpenOption.WRITE); FileLock lock = channel.lock()) {
                cached = cached(cache.resolve("files"));
                return cached.isPresent() ? cached.get() : fetch(cache, progress);
            }
        }
    }

    /** The files in {@code directory} when its manifest says they are complete and of this recipe. */
    static Optional<Arm64HostFiles> cached(Path directory) {
        Path manifest = directory.resolve(MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(manifest, StandardCharsets.UTF_8)) {
            p.load(in);
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
        if (!RECIPE.equals(p.getProperty("recipe"))) {
            return Optional.empty();
        }
        Arm64HostFiles files = new Arm64HostFiles(directory, List.of(p.getProperty("packages", "").split(" ")));
        boolean complete = Files.isRegularFile(files.kernel()) && Files.isRegularFile(files.busybox())
                && Files.isRegularFile(files.sysroot().resolve(JAVA_HOME).resolve("bin/java"));
        return complete ? Optional.of(files) : Optional.empty();
    }

    private static Arm64HostFiles fetch(Path cache, Consumer<String> progress) throws IOException {
        long usable = Files.getFileStore(cache).getUsableSpace();
        if (usable < SPACE_NEEDED) {
            throw new IOException("fetching the arm64 test host's packages needs " + (SPACE_NEEDED >> 20) + " MiB free in "
                    + cache + "; " + (usable >> 20) + " MiB are");
        }
        progress.accept("fetching Debian " + SUITE + "'s arm64 kernel, busybox and Java runtime (about 85 MB) into " + cache
                + ", once; nothing is installed and the machine's apt configuration is left alone");
        long t0 = System.nanoTime();
        Path work = Files.createTempDirectory(cache, ".fetch-");
        try {
            PrivateApt apt = PrivateApt.create(work.resolve("apt"), SUITE, ARCHITECTURE);
            apt.update();
            String kernelPackage = apt.dependencyOf(KERNEL_METAPACKAGE, "linux-image-");
            List<String> names = new ArrayList<>(List.of(kernelPackage));
            names.addAll(USERLAND);
            List<PrivateApt.Fetched> debs = apt.download(names, Files.createDirectories(work.resolve("debs")));

            Path staged = Files.createDirectories(work.resolve("files"));
            Path kernelTree = work.resolve("kernel-package");
            apt.unpack(debs.getFirst().deb(), kernelTree);
            copyKernel(kernelTree, kernelPackage, staged);
            Path sysroot = Files.createDirectories(staged.resolve("sysroot"));
            for (PrivateApt.Fetched deb : debs.subList(1, debs.size())) {
                apt.unpack(deb.deb(), sysroot);
            }
            Path busybox = Stream.of("usr/bin/busybox", "bin/busybox").map(sysroot::resolve).filter(Files::isRegularFile)
                    .findFirst().orElseThrow(() -> new IOException("unpacking busybox-static: no usr/bin/busybox in it"));
            Files.move(busybox, staged.resolve("busybox"));
            for (String path : TRIMMED) {
                remove(sysroot.resolve(path));
            }
            checkArm64(staged.resolve("busybox"), "busybox");
            checkArm64(sysroot.resolve(JAVA_HOME).resolve("bin/java"), "the Java launcher");

            List<String> packages = debs.stream().map(d -> d.name() + "=" + d.version()).toList();
            Properties manifest = new Properties();
            manifest.setProperty("recipe", RECIPE);
            manifest.setProperty("suite", SUITE);
            manifest.setProperty("packages", String.join(" ", packages));
            try (Writer out = Files.newBufferedWriter(staged.resolve(MANIFEST), StandardCharsets.UTF_8)) {
                manifest.store(out, "Debian " + SUITE + " arm64 packages for the arm64 test host");
            }
            Path target = cache.resolve("files");
            JdkImage.deleteTree(target);
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            progress.accept(String.format(Locale.ROOT, "fetched %s in %.1f s", String.join(", ", packages),
                    (System.nanoTime() - t0) / 1e9));
            return cached(target).orElseThrow(() -> new IOException("caching the arm64 host's files: " + target
                    + " is incomplete after the fetch"));
        } finally {
            JdkImage.deleteTree(work);
        }
    }

    /** Removes a file, a tree, or a symbolic link itself (never what it points to). */
    private static void remove(Path path) throws IOException {
        if (Files.isSymbolicLink(path)) {
            Files.delete(path);
        } else {
            JdkImage.deleteTree(path);
        }
    }

    /** The kernel {@code Image} and its configuration, which must have KVM built in: L1 loads no modules. */
    private static void copyKernel(Path tree, String kernelPackage, Path staged) throws IOException {
        String release = kernelPackage.substring("linux-image-".length());
        Path image = tree.resolve("boot/vmlinuz-" + release);
        Path config = tree.resolve("boot/config-" + release);
        if (!Files.isRegularFile(image) || !Files.isRegularFile(config)) {
            throw new IOException("unpacking " + kernelPackage + ": no boot/vmlinuz-" + release + " and boot/config-"
                    + release + " in it");
        }
        if (!isArm64Image(image)) {
            throw new IOException("unpacking " + kernelPackage + ": boot/vmlinuz-" + release
                    + " is not an arm64 Image (no \"ARM\\x64\" magic at byte 56)");
        }
        if (Files.readAllLines(config).stream().noneMatch("CONFIG_KVM=y"::equals)) {
            throw new IOException(kernelPackage + " has no built-in KVM (CONFIG_KVM=y), which the arm64 test host needs");
        }
        Files.copy(image, staged.resolve("Image"));
        Files.copy(config, staged.resolve("config"));
    }

    /** The arm64 boot protocol's header: the magic "ARM\x64" at byte 56 (Documentation/arch/arm64/booting.rst). */
    static boolean isArm64Image(Path file) throws IOException {
        byte[] head = readHead(file, 64);
        return head.length == 64 && head[56] == 'A' && head[57] == 'R' && head[58] == 'M' && head[59] == 0x64;
    }

    /** An ELF file for AArch64: the ELF magic and e_machine EM_AARCH64 (183), little-endian, at byte 18. */
    static boolean isArm64Elf(Path file) throws IOException {
        byte[] head = readHead(file, 20);
        return head.length == 20 && head[0] == 0x7F && head[1] == 'E' && head[2] == 'L' && head[3] == 'F'
                && (head[18] & 0xFF | (head[19] & 0xFF) << 8) == 183;
    }

    private static void checkArm64(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file) || !isArm64Elf(file)) {
            throw new IOException("the fetched " + what + " (" + file + ") is not an arm64 ELF program");
        }
    }

    private static byte[] readHead(Path file, int length) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(length);
        }
    }
}
