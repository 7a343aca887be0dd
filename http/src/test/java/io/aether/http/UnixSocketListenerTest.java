package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class UnixSocketListenerTest {

    @TempDir
    Path dir;

    private static final Duration WAIT = Duration.ofSeconds(10);

    private static Router hello() {
        return new Router().get("/v1/hello/{name}", req -> Response.ok(Map.of("hello", req.param("name"), "peer", req.peer().address())));
    }

    @Test
    void servesOnASocketOfMode0600AndRemovesItOnStop() throws Exception {
        Path socket = dir.resolve("api.sock");
        try (HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), hello(), Limits.DEFAULTS)) {
            int mode = (Integer) Files.getAttribute(socket, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            assertEquals(0140000, mode & 0170000, "a socket");
            assertEquals(0600, mode & 0777, "mode 0600, whatever the umask");
            ApiClient.Reply reply = ApiClient.unix(socket, WAIT).get("/v1/hello/world");
            assertEquals(200, reply.status());
            assertEquals("application/json", reply.headers().get("content-type"));
            assertEquals(Map.of("hello", "world", "peer", "unix"), reply.json(Map.class));
            try (var files = Files.list(dir)) {
                assertEquals(List.of(socket), files.toList(), "the private bind directory is gone");
            }
        }
        assertFalse(Files.exists(socket, LinkOption.NOFOLLOW_LINKS), "socket file removed on stop");
    }

    @Test
    void replacesAStaleSocketLeftByADeadServer() throws Exception {
        Path socket = dir.resolve("api.sock");
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(socket));
        } // closed: the file stays, nobody listens
        assertTrue(Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
        try (HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), hello(), Limits.DEFAULTS)) {
            assertEquals(200, ApiClient.unix(socket, WAIT).get("/v1/hello/again").status());
        }
    }

    @Test
    void refusesAPathThatIsNotASocketAndLeavesItAlone() throws IOException {
        Path file = dir.resolve("api.sock");
        Files.writeString(file, "precious");
        IOException e = assertThrows(IOException.class,
                () -> HttpServer.start(List.of(new Listener.UnixSocket(file)), hello(), Limits.DEFAULTS));
        assertEquals(file + ": exists and is not a socket; refusing to replace it", e.getMessage());
        assertEquals("precious", Files.readString(file));
        Path link = dir.resolve("link.sock");
        Files.createSymbolicLink(link, file);
        assertThrows(IOException.class, () -> HttpServer.start(List.of(new Listener.UnixSocket(link)), hello(), Limits.DEFAULTS));
        assertTrue(Files.isSymbolicLink(link));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no bind directory left behind");
        }
    }

    @Test
    void refusesASocketAnotherServerListensOn() throws Exception {
        Path socket = dir.resolve("api.sock");
        try (HttpServer first = HttpServer.start(List.of(new Listener.UnixSocket(socket)), hello(), Limits.DEFAULTS)) {
            IOException e = assertThrows(IOException.class,
                    () -> HttpServer.start(List.of(new Listener.UnixSocket(socket)), hello(), Limits.DEFAULTS));
            assertEquals(socket + ": a server is listening on this socket already", e.getMessage());
            assertEquals(200, ApiClient.unix(socket, WAIT).get("/v1/hello/still").status(), "the first server keeps its socket");
        }
    }

    @Test
    void refusesAMissingDirectoryAndAnOverlongPath() {
        Path missing = dir.resolve("no/such/dir/api.sock");
        IOException e = assertThrows(IOException.class,
                () -> HttpServer.start(List.of(new Listener.UnixSocket(missing)), hello(), Limits.DEFAULTS));
        assertEquals(missing + ": directory " + missing.getParent() + " does not exist", e.getMessage());
        Path longPath = dir.resolve("x".repeat(120) + ".sock");
        IOException tooLong = assertThrows(IOException.class,
                () -> HttpServer.start(List.of(new Listener.UnixSocket(longPath)), hello(), Limits.DEFAULTS));
        assertTrue(tooLong.getMessage().startsWith(longPath + ": a Unix socket path may have at most "), tooLong.getMessage());
    }

    @Test
    void theBindDirectoryIsPrivate() throws IOException {
        UnixSocketFile f = UnixSocketFile.prepare(dir.resolve("api.sock"));
        try {
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f.bindPath().getParent())));
        } finally {
            f.abandon();
        }
    }
}
