package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.tls.NamedGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TlsTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("test-server");

    @TempDir
    Path tmp;

    private SSLServerSocket server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    /**
     * A TLS server socket with {@link Tls#parameters} for {@code groups} that answers every request
     * with "hello", one connection at a time.
     */
    private int serve(ServerCredentials creds, String... groups) throws IOException {
        SSLContext context = Tls.serverContext(creds);
        SSLServerSocket listening = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 8, InetAddress.getLoopbackAddress());
        listening.setSSLParameters(Tls.parameters(context, groups));
        server = listening;
        Thread.ofVirtual().start(() -> {
            while (!listening.isClosed()) {
                try (SSLSocket s = (SSLSocket) listening.accept()) {
                    s.setSoTimeout(10_000);
                    readHead(s.getInputStream());
                    s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                            .getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                } catch (IOException e) {
                    // A refused handshake (what several tests want), or the server closed.
                }
            }
        });
        return listening.getLocalPort();
    }

    private static void readHead(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while (!sb.toString().endsWith("\r\n\r\n") && (c = in.read()) >= 0) {
            sb.append((char) c);
        }
    }

    private static String get(SSLSocket s) throws IOException {
        s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return readUntilHello(s.getInputStream());
    }

    /** Reads up to the body; a peer that closes without close_notify is not the subject here. */
    private static String readUntilHello(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        int c;
        while (!sb.toString().endsWith("hello") && (c = in.read()) >= 0) {
            sb.append((char) c);
        }
        return sb.toString();
    }

    @Test
    void pinnedClientAndServerAgreeOnTheHybridGroupOnly() throws IOException {
        int port = serve(CREDS, Tls.GROUP);
        SSLContext client = Tls.clientContext(ServerTrust.pinned(CREDS.certificate()));
        try (SSLSocket s = Tls.connect(client, "127.0.0.1", port, 10_000)) {
            assertEquals("TLSv1.3", s.getSession().getProtocol());
            // The client offered nothing but X25519MLKEM768, so a completed handshake used it.
            assertEquals(Tls.GROUP, String.join(",", s.getSSLParameters().getNamedGroups()));
            assertTrue(get(s).endsWith("hello"));
        }
    }

    @Test
    void handshakeFailsWhenTheServerRefusesTheHybridGroup() throws IOException {
        int port = serve(CREDS, "x25519", "secp256r1");
        SSLContext client = Tls.clientContext(ServerTrust.pinned(CREDS.certificate()));
        assertThrows(SSLException.class, () -> Tls.connect(client, "127.0.0.1", port, 10_000).close());
    }

    @Test
    void handshakeFailsWhenTheClientOffersOnlyClassicalGroups() throws IOException {
        int port = serve(CREDS, Tls.GROUP);
        SSLContext client = Tls.clientContext(ServerTrust.pinned(CREDS.certificate()));
        assertThrows(SSLException.class, () -> Tls.connect(client, "127.0.0.1", port, 10_000, new String[] {"x25519", "secp256r1"}).close());
    }

    /**
     * An independent client (BC's low-level TLS API, which exposes the negotiated group) that
     * prefers classical x25519 still ends up with X25519MLKEM768 against the Aether server.
     */
    @Test
    void negotiatedGroupSeenByALowLevelClientIsX25519MLKEM768() throws IOException {
        int port = serve(CREDS, Tls.GROUP);
        int negotiated = GroupProbe.negotiatedGroup(port, NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.X25519MLKEM768);
        assertEquals(NamedGroup.X25519MLKEM768, negotiated, "negotiated " + NamedGroup.getName(negotiated));
    }

    @Test
    void aDifferentCertificateThanThePinnedOneIsRefusedWithBothFingerprints() throws IOException {
        ServerCredentials impostor = ServerCredentials.generate("impostor");
        int port = serve(impostor, Tls.GROUP);
        SSLContext client = Tls.clientContext(ServerTrust.pinned(CREDS.certificate()));
        SSLException e = assertThrows(SSLException.class, () -> Tls.connect(client, "127.0.0.1", port, 10_000).close());
        assertTrue(e.getMessage().contains("is not the pinned sha256:" + CREDS.fingerprint()), e.getMessage());
        assertTrue(e.getMessage().contains(impostor.fingerprint()), e.getMessage());
    }

    @Test
    void trustOnFirstUsePinsTheFirstCertificateAndRefusesAChange() throws IOException {
        KnownServers known = new KnownServers(tmp.resolve("known_servers"));
        int port = serve(CREDS, Tls.GROUP);
        ServerTrust tofu = new ServerTrust.TrustOnFirstUse(known, "edge1:7443");
        try (SSLSocket s = Tls.connect(Tls.clientContext(tofu), "127.0.0.1", port, 10_000)) {
            assertTrue(get(s).endsWith("hello"));
        }
        assertEquals(CREDS.fingerprint(), known.lookup("edge1:7443").orElseThrow());
        assertTrue(Files.readString(known.file()).contains("edge1:7443 " + CREDS.fingerprint()));
        // Same name, another server: refused.
        stop();
        int port2 = serve(ServerCredentials.generate("other"), Tls.GROUP);
        SSLException e = assertThrows(SSLException.class, () -> Tls.connect(Tls.clientContext(tofu), "127.0.0.1", port2, 10_000).close());
        assertTrue(e.getMessage().contains("changed"), e.getMessage());
        assertEquals(CREDS.fingerprint(), known.lookup("edge1:7443").orElseThrow(), "the pin is unchanged");
    }

    @Test
    void credentialsArePersistedOnceAndReloaded() throws IOException {
        Path dir = tmp.resolve("tls");
        ServerCredentials first = ServerCredentials.loadOrCreate(dir, "host");
        ServerCredentials again = ServerCredentials.loadOrCreate(dir, "host");
        assertEquals(first.fingerprint(), again.fingerprint());
        assertEquals("ML-DSA-65", first.certificate().getSigAlgName());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("server.key"))));
        // The reloaded key still serves handshakes that the pinned client accepts.
        int port = serve(again, Tls.GROUP);
        try (SSLSocket s = Tls.connect(Tls.clientContext(ServerTrust.pinnedFile(dir.resolve("server.crt"))), "127.0.0.1", port, 10_000)) {
            assertTrue(get(s).endsWith("hello"));
        }
    }
}
