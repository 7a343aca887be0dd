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
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.bouncycastle.tls.NamedGroup;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The browser listener's P-256 certificate and its TLS: X25519MLKEM768 preferred, classical groups accepted. */
@Timeout(60)
class BrowserCredentialsTest {

    private static final BrowserCredentials CREDS = BrowserCredentials.generate("test-dashboard");

    @TempDir
    Path tmp;

    private SSLServerSocket server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) server.close();
    }

    /** A server with the browser context and parameters answering "hello" to each request. */
    private int serve() throws IOException {
        SSLContext context = Tls.browserServerContext(CREDS);
        SSLServerSocket listening = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 8, InetAddress.getLoopbackAddress());
        listening.setSSLParameters(Tls.browserParameters(context));
        server = listening;
        Thread.ofVirtual().start(() -> {
            while (!listening.isClosed()) {
                try (SSLSocket s = (SSLSocket) listening.accept()) {
                    s.setSoTimeout(10_000);
                    Tls.preferOwnGroups(s);
                    InputStream in = s.getInputStream();
                    StringBuilder head = new StringBuilder();
                    int c;
                    while (!head.toString().endsWith("\r\n\r\n") && (c = in.read()) >= 0) head.append((char) c);
                    s.getOutputStream().write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII));
                    s.getOutputStream().flush();
                } catch (IOException e) {
                    // A refused handshake, or the server closed.
                }
            }
        });
        return listening.getLocalPort();
    }

    @Test
    void theServerPicksTheHybridGroupEvenWhenTheClientPrefersAClassicalOne() throws IOException {
        int port = serve();
        int negotiated = GroupProbe.negotiatedGroup(port, NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.X25519MLKEM768);
        assertEquals(NamedGroup.X25519MLKEM768, negotiated, "negotiated " + NamedGroup.getName(negotiated));
    }

    @Test
    void aBrowserWithoutTheHybridGroupStillConnectsClassically() throws IOException {
        int port = serve();
        assertEquals(NamedGroup.x25519, GroupProbe.negotiatedGroup(port, NamedGroup.x25519));
        assertEquals(NamedGroup.secp256r1, GroupProbe.negotiatedGroup(port, NamedGroup.secp256r1));
        assertThrows(IOException.class, () -> GroupProbe.negotiatedGroup(port, NamedGroup.ffdhe2048), "nothing weaker");
    }

    @Test
    void madeOnceWithAnOwnerOnlyKeyThenReloadedAndPinnedByItsPublicKey() throws Exception {
        BrowserCredentials made = BrowserCredentials.loadOrCreate(tmp.resolve("dashboard"), "c1");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve("dashboard/dashboard.key"))));
        BrowserCredentials again = BrowserCredentials.loadOrCreate(tmp.resolve("dashboard"), "c1");
        assertEquals(made.fingerprint(), again.fingerprint(), "the same certificate after a restart");
        assertEquals("EC", again.certificate().getPublicKey().getAlgorithm());
        assertTrue(made.certificate().getNotAfter().toInstant().isBefore(java.time.Instant.now().plus(Duration.ofDays(398))), "browsers refuse longer");

        // The pin Chromium takes, derived by openssl from the certificate file, not by the code under test.
        Process openssl = new ProcessBuilder("sh", "-c", "openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der"
                + " | openssl dgst -sha256 -binary | base64", "sh", tmp.resolve("dashboard/dashboard.crt").toString()).redirectErrorStream(true).start();
        String pin = new String(openssl.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertTrue(openssl.waitFor(20, TimeUnit.SECONDS));
        assertEquals(pin, again.spkiSha256Base64());

        BrowserCredentials other = BrowserCredentials.generate("other");
        Files.write(tmp.resolve("other.key"), Pem.encode("PRIVATE KEY", other.privateKey().getEncoded()));
        IOException mismatch = assertThrows(IOException.class, () -> BrowserCredentials.load(tmp.resolve("other.key"), tmp.resolve("dashboard/dashboard.crt")));
        assertTrue(mismatch.getMessage().endsWith("dashboard.crt is not a certificate of the key in " + tmp.resolve("other.key")), mismatch.getMessage());
    }
}
