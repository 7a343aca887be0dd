package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.IOException;
import java.io.InputStream;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The TLS listener over real loopback sockets: post-quantum TLS only, mutual TLS, the per-client cap. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TlsListenerTest {

    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final ObjectMapper PEER = new ObjectMapper();

    private static ServerCredentials serverCert;
    private static ServerCredentials clientCert;
    private static ServerCredentials forgedClientCert;
    private HttpServer server;

    @BeforeAll
    static void certificates() {
        serverCert = ServerCredentials.generate("node-1");
        clientCert = ServerCredentials.generate("fabric");
        forgedClientCert = ServerCredentials.generate("fabric"); // same name, another key
    }

    private static Router whoami() {
        return new Router().get("/v1/whoami", req -> Response.ok(Map.of(
                "client", req.peer().fingerprint().orElse("none"),
                "addressIsLoopback", req.peer().address().startsWith("127.0.0.1:"))));
    }

    private void start(Listener.ClientAuth auth, Limits limits) throws IOException {
        server = HttpServer.start(List.of(new Listener.Tcp("127.0.0.1", 0, serverCert, auth)), whoami(), limits);
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private ServerTrust.Pinned serverPin() {
        return new ServerTrust.Pinned(serverCert.fingerprint());
    }

    @Test
    void servesOverPostQuantumTlsWithoutClientCertificates() throws Exception {
        start(new Listener.ClientAuth.None(), Limits.DEFAULTS);
        ApiClient client = ApiClient.tls("127.0.0.1", server.port(), serverPin(), WAIT);
        assertEquals(Map.of("client", "none", "addressIsLoopback", true), client.get("/v1/whoami").json(Map.class));
        try (SSLSocket s = Tls.connect(Tls.clientContext(serverPin()), "127.0.0.1", server.port(), 20_000)) {
            assertEquals("TLSv1.3", s.getSession().getProtocol());
        }
    }

    @Test
    void aPortInUseIsRefusedNamingIt() throws Exception {
        start(new Listener.ClientAuth.None(), Limits.DEFAULTS);
        int port = server.port();
        IOException e = assertThrows(IOException.class, () -> HttpServer.start(
                List.of(new Listener.Tcp("127.0.0.1", port, serverCert, new Listener.ClientAuth.None())), whoami(), Limits.DEFAULTS));
        assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + port + ": "), e.getMessage());
        assertEquals(200, ApiClient.tls("127.0.0.1", port, serverPin(), WAIT).get("/v1/whoami").status(), "the first server is unharmed");
    }

    @Test
    void aClientOfferingOnlyAClassicalGroupIsRefused() throws Exception {
        start(new Listener.ClientAuth.None(), Limits.DEFAULTS);
        SSLContext ctx = Tls.clientContext(serverPin());
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
            s.setSoTimeout(20_000);
            SSLParameters p = Tls.parameters(ctx);
            p.setNamedGroups(new String[] {"x25519"});
            s.setSSLParameters(p);
            assertThrows(IOException.class, s::startHandshake);
        }
        awaitRefusals(Stats.Refusal.TLS_HANDSHAKE, 1);
    }

    @Test
    void mutualTlsExposesTheVerifiedClientCertificate() throws Exception {
        start(new Listener.ClientAuth.Pinned(Set.of(clientCert.fingerprint())), Limits.DEFAULTS);
        ApiClient client = ApiClient.mutualTls("127.0.0.1", server.port(), serverPin(), clientCert, WAIT);
        assertEquals(Map.of("client", clientCert.fingerprint(), "addressIsLoopback", true), client.get("/v1/whoami").json(Map.class));
    }

    @Test
    void mutualTlsRefusesAClientWithoutACertificate() throws Exception {
        start(new Listener.ClientAuth.Pinned(Set.of(clientCert.fingerprint())), Limits.DEFAULTS);
        ApiClient anonymous = ApiClient.tls("127.0.0.1", server.port(), serverPin(), WAIT);
        assertThrows(IOException.class, () -> anonymous.get("/v1/whoami"));
        awaitRefusals(Stats.Refusal.TLS_HANDSHAKE, 1);
        assertEquals(0, server.stats().requests(), "no request reached a handler");
    }

    @Test
    void mutualTlsRefusesAForgedClientCertificate() throws Exception {
        start(new Listener.ClientAuth.Pinned(Set.of(clientCert.fingerprint())), Limits.DEFAULTS);
        assertEquals(clientCert.certificate().getSubjectX500Principal(), forgedClientCert.certificate().getSubjectX500Principal());
        ApiClient forger = ApiClient.mutualTls("127.0.0.1", server.port(), serverPin(), forgedClientCert, WAIT);
        assertThrows(IOException.class, () -> forger.get("/v1/whoami"));
        awaitRefusals(Stats.Refusal.TLS_HANDSHAKE, 1);
        assertEquals(0, server.stats().requests(), "no request reached a handler");
    }

    @Test
    void theClientRefusesAServerWithAnotherCertificate() throws Exception {
        start(new Listener.ClientAuth.Pinned(Set.of(clientCert.fingerprint())), Limits.DEFAULTS);
        ServerTrust.Pinned wrongPin = new ServerTrust.Pinned(forgedClientCert.fingerprint());
        assertThrows(IOException.class, () -> ApiClient.mutualTls("127.0.0.1", server.port(), wrongPin, clientCert, WAIT).get("/v1/whoami"));
    }

    @Test
    void connectionsOverThePerClientCapAreAnswered429() throws Exception {
        start(new Listener.ClientAuth.None(), Limits.DEFAULTS.withMaxConnections(10, 2));
        SSLContext ctx = Tls.clientContext(serverPin());
        try (SSLSocket a = Tls.connect(ctx, "127.0.0.1", server.port(), 20_000);
             SSLSocket b = Tls.connect(ctx, "127.0.0.1", server.port(), 20_000)) {
            assertTrue(exchange(a, false).startsWith("HTTP/1.1 200"));
            assertTrue(exchange(b, false).startsWith("HTTP/1.1 200"));
            try (SSLSocket c = Tls.connect(ctx, "127.0.0.1", server.port(), 20_000)) {
                String answer = exchange(c, true);
                assertTrue(answer.startsWith("HTTP/1.1 429"), answer);
                Raw.Answer parsed = Raw.parse(answer);
                assertEquals("1", parsed.headers().get("retry-after"));
                assertEquals(Map.of("error", "too_many_requests", "message", "too many connections from 127.0.0.1: 2 open (limit 2)"),
                        PEER.readValue(parsed.body(), Map.class));
            }
        }
        assertEquals(1, server.stats().refused(Stats.Refusal.CONNECTIONS_PER_CLIENT));
    }

    /** Sends one GET and reads one answer (to the end of the stream when the server closes it). */
    private static String exchange(SSLSocket s, boolean toEnd) throws IOException {
        s.getOutputStream().write("GET /v1/whoami HTTP/1.1\r\nHost: node\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        StringBuilder text = new StringBuilder();
        byte[] buf = new byte[4096];
        while (true) {
            int r;
            try {
                r = in.read(buf);
            } catch (SocketException closed) {
                r = -1;
            }
            if (r < 0) {
                return text.toString();
            }
            text.append(new String(buf, 0, r, StandardCharsets.UTF_8));
            int head = text.indexOf("\r\n\r\n");
            if (!toEnd && head >= 0) {
                Raw.Answer a = Raw.parse(text.toString());
                if (a.body().length() >= Integer.parseInt(a.headers().get("content-length"))) {
                    return text.toString();
                }
            }
        }
    }

    private void awaitRefusals(Stats.Refusal kind, long n) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (server.stats().refused(kind) < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(n, server.stats().refused(kind), kind.name());
    }
}
