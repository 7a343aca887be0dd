package io.aether.guest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The layout of an initramfs, collected first and written at once with {@link CpioWriter}.
 *
 * <p>Collecting before writing lets callers inspect and test a layout without unpacking an
 * archive, and lets this class add missing parent directories (mode 0755) ahead of what they
 * contain. Paths are archive paths: {@code /bin/sh} and {@code bin/sh} are the same entry.
 * Adding a different entry at a path that is taken is an error, so two parts of a build
 * cannot silently overwrite each other's files.
 */
public final class Initramfs {

    /** One archive entry. */
    public sealed interface Entry permits Directory, RegularFile, Symlink, CharDevice {
    }

    /** A directory. */
    public record Directory(int permissions) implements Entry {
        public Directory {
            checkPermissions(permissions);
        }
    }

    /** A regular file, its content held in memory or read from a host file when written. */
    public record RegularFile(int permissions, Content content) implements Entry {
        public RegularFile {
            checkPermissions(permissions);
        }
    }

    /** A symbolic link. */
    public record Symlink(String target) implements Entry {
        public Symlink {
            if (target.isEmpty() || target.indexOf('\0') >= 0) {
                throw new IllegalArgumentException("bad symlink target: '" + target + "'");
            }
        }
    }

    /** A character device node. */
    public record CharDevice(int permissions, int major, int minor) implements Entry {
        public CharDevice {
            checkPermissions(permissions);
            if (major < 0 || minor < 0) {
                throw new IllegalArgumentException("bad device number " + major + ":" + minor);
            }
        }
    }

    /** Where a regular file's bytes come from. */
    public sealed interface Content permits Bytes, HostFile {
        /** The content's size in bytes. */
        long size() throws IOException;
    }

    /** Content held in memory (scripts, small generated files). */
    public record Bytes(byte[] data) implements Content {
        public Bytes {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        @Override
        public long size() {
            return data.length;
        }

        /** The content as UTF-8 text (for tests and diagnostics). */
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** Content streamed from a file on the host when the archive is written. */
    public record HostFile(Path path) implements Content {
        @Override
        public long size() throws IOException {
            return Files.size(path);
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();

    /**
     * A layout that starts as a minimal busybox system: the usual top-level directories, then
     * {@code extraDirectories}; a sticky, world-writable /tmp; /dev/console and /dev/null (the
     * kernel opens /dev/console for init before anything can mount devtmpfs, so the node must be
     * in the archive); static busybox as /bin/busybox and a link to it for each applet.
     *
     * @param busybox the static busybox binary on the host
     * @param applets the applet paths busybox reports ({@code busybox --list-full}: {@code bin/sh},
     *     {@code sbin/insmod}, ...); blank lines and bin/busybox itself are skipped
     */
    public static Initramfs busybox(Path busybox, List<String> applets, String... extraDirectories) {
        Initramfs image = new Initramfs();
        for (String dir : List.of("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "root")) {
            image.directory(dir);
        }
        for (String dir : extraDirectories) {
            image.directory(dir);
        }
        image.directory("tmp", 01777);
        image.charDevice("dev/console", 0600, 5, 1);
        image.charDevice("dev/null", 0666, 1, 3);
        image.file("bin/busybox", 0755, busybox);
        for (String applet : applets) {
            String path = applet.strip();
            if (!path.isEmpty() && !path.equals("bin/busybox")) {
                image.symlink(path, "/bin/busybox");
            }
        }
        return image;
    }

    /** Adds a directory (and its missing parents) with mode 0755. */
    public Initramfs directory(String path) {
        return directory(path, 0755);
    }

    /** Adds a directory (and its missing parents). */
    public Initramfs directory(String path, int permissions) {
        return put(path, new Directory(permissions));
    }

    /** Adds a file whose content is {@code data}. */
    public Initramfs file(String path, int permissions, byte[] data) {
        return put(path, new RegularFile(permissions, new Bytes(data)));
    }

    /** Adds a text file (UTF-8). */
    public Initramfs text(String path, int permissions, String text) {
        return file(path, permissions, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Adds a file copied from {@code source} on the host (a symlink there is followed).
     *
     * @throws IllegalArgumentException if {@code source} is not a readable regular file
     */
    public Initramfs file(String path, int permissions, Path source) {
        if (!Files.isRegularFile(source) || !Files.isReadable(source)) {
            throw new IllegalArgumentException("not a readable file: " + source + " (for initramfs path /" + normalize(path) + ")");
        }
        return put(path, new RegularFile(permissions, new HostFile(source)));
    }

    /** Adds a file copied from {@code source}, keeping its permission bits. */
    public Initramfs file(String path, Path source) throws IOException {
        return file(path, permissionsOf(source), source);
    }

    /** Adds a symbolic link at {@code path} pointing to {@code target}. */
    public Initramfs symlink(String path, String target) {
        return put(path, new Symlink(target));
    }

    /** Adds a character device node. */
    public Initramfs charDevice(String path, int permissions, int major, int minor) {
        return put(path, new CharDevice(permissions, major, minor));
    }

    /**
     * Adds the tree under {@code source} at {@code path}: directories, regular files with
     * their permission bits, and symlinks as symlinks (their targets unchanged).
     */
    public Initramfs tree(String path, Path source) throws IOException {
        if (!Files.isDirectory(source)) {
            throw new IllegalArgumentException("not a directory: " + source + " (for initramfs path /" + normalize(path) + ")");
        }
        String base = normalize(path);
        directory(base);
        List<Path> all;
        try (Stream<Path> walk = Files.walk(source)) {
            all = walk.sorted().toList();
        }
        for (Path p : all) {
            if (p.equals(source)) {
                continue;
            }
            String dest = base + "/" + source.relativize(p).toString().replace('\\', '/');
            if (Files.isSymbolicLink(p)) {
                symlink(dest, Files.readSymbolicLink(p).toString());
            } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                directory(dest, permissionsOf(p));
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                file(dest, permissionsOf(p), p);
            } else {
                throw new IllegalArgumentException("cannot archive special file " + p);
            }
        }
        return this;
    }

    /** The entries in archive order; keys are archive paths without a leading slash. */
    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    /** The entry at {@code path}, or null. */
    public Entry get(String path) {
        return entries.get(normalize(path));
    }

    /** The total size of all file contents, in bytes. */
    public long contentSize() throws IOException {
        long total = 0;
        for (Entry e : entries.values()) {
            if (e instanceof RegularFile f) {
                total += f.content().size();
            }
        }
        return total;
    }

    /** Writes the archive onto {@code out} and closes it. */
    public void write(OutputStream out, boolean gzip) throws IOException {
        try (CpioWriter w = gzip ? CpioWriter.gzip(out) : CpioWriter.plain(out)) {
            for (Map.Entry<String, Entry> e : entries.entrySet()) {
                String path = e.getKey();
                switch (e.getValue()) {
                    case Directory d -> w.directory(path, d.permissions());
                    case Symlink s -> w.symlink(path, s.target());
                    case CharDevice c -> w.charDevice(path, c.permissions(), c.major(), c.minor());
                    case RegularFile f -> {
                        switch (f.content()) {
                            case Bytes b -> w.file(path, f.permissions(), b.data);
                            case HostFile h -> {
                                try (InputStream in = Files.newInputStream(h.path())) {
                                    w.file(path, f.permissions(), Files.size(h.path()), in);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /** Writes the archive to {@code file} (replacing it). */
    public void write(Path file, boolean gzip) throws IOException {
        write(Files.newOutputStream(file), gzip);
    }

    private Initramfs put(String path, Entry entry) {
        String p = normalize(path);
        int slash = p.lastIndexOf('/');
        if (slash > 0) {
            String parent = p.substring(0, slash);
            Entry existing = entries.get(parent);
            if (existing == null) {
                put(parent, new Directory(0755));
            } else if (!(existing instanceof Directory)) {
                throw new IllegalArgumentException("cannot add /" + p + ": /" + parent + " is not a directory");
            }
        }
        Entry old = entries.putIfAbsent(p, entry);
        if (old != null && !(old instanceof Directory && entry instanceof Directory)) {
            throw new IllegalArgumentException("initramfs path /" + p + " is already taken");
        }
        return this;
    }

    private static String normalize(String path) {
        return CpioWriter.checkPath(path);
    }

    private static void checkPermissions(int permissions) {
        if ((permissions & ~07777) != 0) {
            throw new IllegalArgumentException("permissions must be within 07777, not 0" + Integer.toOctalString(permissions));
        }
    }

    /** The permission bits of {@code p} (of its target, for a symlink). */
    static int permissionsOf(Path p) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
        int mode = 0;
        for (PosixFilePermission perm : perms) {
            mode |= switch (perm) {
                case OWNER_READ -> 0400;
                case OWNER_WRITE -> 0200;
                case OWNER_EXECUTE -> 0100;
                case GROUP_READ -> 040;
                case GROUP_WRITE -> 020;
                case GROUP_EXECUTE -> 010;
                case OTHERS_READ -> 04;
                case OTHERS_WRITE -> 02;
                case OTHERS_EXECUTE -> 01;
            };
        }
        return mode;
    }
}
