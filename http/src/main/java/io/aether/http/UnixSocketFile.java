package io.aether.http;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Puts a listening Unix socket at a path without a moment where anyone else could connect:
 * the socket is bound inside a fresh directory of mode 0700 beside the path, set to mode 0600,
 * then renamed over the path (rename replaces a stale socket atomically). A path holding
 * anything but a socket, or a socket a server still answers on, is refused and left alone.
 */
final class UnixSocketFile {

    /** sun_path is 108 bytes with its terminating NUL. */
    private static final int MAX_PATH_BYTES = 107;
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path path;
    private final Path bindDir;
    private Object fileKey;

    private UnixSocketFile(Path path, Path bindDir) {
        this.path = path;
        this.bindDir = bindDir;
    }

    /** Checks {@code path} and makes the private directory to bind in. */
    static UnixSocketFile prepare(Path path) throws IOException {
        path = path.toAbsolutePath().normalize();
        Path parent = Objects.requireNonNull(path.getParent(), "a socket path has a parent");
        if (!Files.isDirectory(parent)) {
            throw new IOException(path + ": directory " + parent + " does not exist");
        }
        checkReplaceable(path);
        String name = ".s" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        Path dir = Files.createDirectory(parent.resolve(name), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        UnixSocketFile f = new UnixSocketFile(path, dir);
        int longest = Math.max(length(path), length(f.bindPath()));
        if (longest > MAX_PATH_BYTES) {
            f.abandon();
            throw new IOException(path + ": a Unix socket path may have at most " + (MAX_PATH_BYTES - (longest - length(path)))
                    + " bytes here, this one has " + length(path));
        }
        return f;
    }

    /** Where the server binds before {@link #publish}. */
    Path bindPath() {
        return bindDir.resolve("s");
    }

    Path path() {
        return path;
    }

    /** Moves the bound socket, mode 0600, over the path. */
    void publish() throws IOException {
        Files.setPosixFilePermissions(bindPath(), PosixFilePermissions.fromString("rw-------"));
        checkReplaceable(path);
        Files.move(bindPath(), path, StandardCopyOption.ATOMIC_MOVE);
        fileKey = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
        Files.delete(bindDir);
    }

    /** Removes what {@link #prepare} made, and the socket file if it is still this server's. */
    void abandon() throws IOException {
        Files.deleteIfExists(bindPath());
        Files.deleteIfExists(bindDir);
        if (fileKey != null && Files.exists(path, LinkOption.NOFOLLOW_LINKS)
                && fileKey.equals(Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey())) {
            Files.delete(path);
        }
    }

    private static void checkReplaceable(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + ": exists and is not a socket; refusing to replace it");
        }
        boolean live;
        try (SocketChannel probe = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            live = probe.connect(UnixDomainSocketAddress.of(path));
        } catch (java.net.ConnectException refused) {
            live = false; // nobody answers: left behind by a server that died, so it is replaced
        } catch (IOException e) {
            throw new IOException(path + ": cannot tell whether a server listens on this socket (" + e.getMessage()
                    + "); refusing to replace it", e);
        }
        if (live) {
            throw new IOException(path + ": a server is listening on this socket already");
        }
    }

    private static int length(Path p) {
        return p.toString().getBytes(StandardCharsets.UTF_8).length;
    }
}
