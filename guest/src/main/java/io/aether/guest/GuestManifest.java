package io.aether.guest;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The {@code manifest.properties} of a cached guest: what it was built from and by which
 * recipe. It is written last, so a directory with a readable manifest is complete.
 *
 * @param kernelPackage the versioned kernel package, e.g. {@code linux-image-6.1.0-56-cloud-amd64}
 * @param recipe        a fingerprint of how the initramfs is built; a change rebuilds the cache
 * @param guestModules  module file names, in load order, in {@code modules/}
 * @param hostModules   the nested host's module file names, in load order, in {@code modules/}
 */
record GuestManifest(String kernelPackage, String kernelVersion, String kernelRelease, String busyboxVersion,
                     String recipe, List<String> guestModules, List<String> hostModules) {

    static final String FILE = "manifest.properties";
    static final String KERNEL = "vmlinuz";
    static final String INITRAMFS = "initramfs.cpio.gz";
    static final String BUSYBOX = "busybox";
    static final String MODULES = "modules";
    /** A release names the cache directory, so it must be a plain file name. */
    private static final Pattern RELEASE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._+-]{0,127}");
    private static final Pattern MODULE_FILE = Pattern.compile("[A-Za-z0-9_-]{1,64}\\.ko");

    GuestManifest {
        if (!RELEASE.matcher(kernelRelease).matches()) {
            throw new IllegalArgumentException("bad kernel release: '" + kernelRelease + "'");
        }
        guestModules = List.copyOf(guestModules);
        hostModules = List.copyOf(hostModules);
        for (String m : guestModules) {
            checkModuleFile(m);
        }
        for (String m : hostModules) {
            checkModuleFile(m);
        }
    }

    static boolean isRelease(String text) {
        return RELEASE.matcher(text).matches();
    }

    private static void checkModuleFile(String m) {
        if (!MODULE_FILE.matcher(m).matches()) {
            throw new IllegalArgumentException("bad module file name: '" + m + "'");
        }
    }

    void write(Path file) throws IOException {
        Properties p = new Properties();
        p.setProperty("kernel.package", kernelPackage);
        p.setProperty("kernel.version", kernelVersion);
        p.setProperty("kernel.release", kernelRelease);
        p.setProperty("busybox.version", busyboxVersion);
        p.setProperty("recipe", recipe);
        p.setProperty("guest.modules", String.join(",", guestModules));
        p.setProperty("host.modules", String.join(",", hostModules));
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "Aether guest cache (aether guest fetch)");
        }
    }

    /** The manifest in {@code dir}, or empty when there is none or it is unreadable or incomplete. */
    static Optional<GuestManifest> read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            p.load(r);
            GuestManifest m = new GuestManifest(p.getProperty("kernel.package"), p.getProperty("kernel.version"),
                    p.getProperty("kernel.release"), p.getProperty("busybox.version"), p.getProperty("recipe"),
                    list(p.getProperty("guest.modules")), list(p.getProperty("host.modules")));
            return m.complete(dir) ? Optional.of(m) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            // A damaged manifest means "not cached": the fetch rebuilds the directory.
            return Optional.empty();
        }
    }

    private static List<String> list(String value) {
        if (value == null) {
            throw new IllegalArgumentException("missing module list");
        }
        return value.isEmpty() ? List.of() : Arrays.asList(value.split(","));
    }

    /** True when every file the manifest names is present in {@code dir}. */
    boolean complete(Path dir) {
        if (kernelPackage == null || kernelVersion == null || busyboxVersion == null || recipe == null) {
            return false;
        }
        if (!Files.isRegularFile(dir.resolve(KERNEL)) || !Files.isRegularFile(dir.resolve(INITRAMFS))
                || !Files.isRegularFile(dir.resolve(BUSYBOX))) {
            return false;
        }
        return guestModules.stream().allMatch(m -> Files.isRegularFile(dir.resolve(MODULES).resolve(m)))
                && hostModules.stream().allMatch(m -> Files.isRegularFile(dir.resolve(MODULES).resolve(m)));
    }

    GuestArtifacts artifacts(Path dir, boolean reused) {
        Path modules = dir.resolve(MODULES);
        return new GuestArtifacts(kernelRelease, kernelVersion, busyboxVersion, dir, dir.resolve(KERNEL),
                dir.resolve(INITRAMFS), dir.resolve(BUSYBOX),
                guestModules.stream().map(modules::resolve).toList(),
                hostModules.stream().map(modules::resolve).toList(), reused);
    }
}
