package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The HTTP client against a server that answers with raw, hostile responses. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HttpLinkTest {

    private static final ServerCredentials CREDS = ServerCredentials.generate("http-link-test");

    /** Sends a GET to a TLS server that answers it with {@code response}, byte for byte. */
    private static HttpLink.Response exchange(String response) throws Exception {
        SSLContext context = Tls.serverContext(CREDS);
        try (SSLServerSocket listener = (SSLServerSocket) context.getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listener.setSSLParameters(Tls.parameters(context));
            Thread server = Thread.ofVirtual().start(() -> {
                try (Socket s = listener.accept()) {
                    InputStream in = s.getInputStream();
                    while (!HttpLink.readLine(in).isEmpty()) {
                        // the request's head; it has no body
                    }
                    OutputStream out = s.getOutputStream();
                    out.write(response.getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                } catch (IOException e) {
                    // The client hung up first: what it saw is what the test checks.
                }
            });
            try {
                HttpLink link = new HttpLink(URI.create("https://127.0.0.1:" + listener.getLocalPort()),
                        Tls.clientContext(ServerTrust.pinned(CREDS.certificate())), 10_000);
                return link.send("GET", "/v1/refs", null, null);
            } finally {
                server.join();
            }
        }
    }

    @Test
    void aNegativeContentLengthIsRefusedBeforeTheBodyIsRead() {
        IOException e = assertThrows(IOException.class, () -> exchange("HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"));
        assertTrue(e.getMessage().matches("bad Content-Length from 127\\.0\\.0\\.1:\\d+: '-5'"), e.getMessage());
    }

    @Test
    void aContentLengthThatIsNotANumberIsRefused() {
        IOException e = assertThrows(IOException.class, () -> exchange("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n"));
        assertTrue(e.getMessage().matches("bad Content-Length from 127\\.0\\.0\\.1:\\d+: '12x'"), e.getMessage());
    }

    @Test
    void aBodyFramedByContentLengthIsReadExactly() throws Exception {
        try (HttpLink.Response r = exchange("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")) {
            assertEquals(200, r.status);
            assertEquals("hello", r.text());
        }
    }

    @Test
    void aBodyWithoutALengthEndsWithTheConnection() throws Exception {
        // RFC 9112, 6.3: what a server that closes after its answer may send (it used to read as an empty body).
        try (HttpLink.Response r = exchange("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello")) {
            assertEquals(200, r.status);
            assertEquals("hello", r.text());
        }
    }
}
