package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The stall guard on a plain JDK HTTP server with raw-socket clients that misbehave. */
class StallGuardTest {

    private HttpServer server;
    private ExecutorService executor;
    private StallGuard guard;
    private final AtomicReference<String> handlerSaw = new AtomicReference<>("nothing yet");

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        guard = new StallGuard(Duration.ofMillis(300));
        server.createContext("/upload", ex -> {
            try {
                handlerSaw.set("read " + ex.getRequestBody().readAllBytes().length);
                ex.sendResponseHeaders(200, -1);
            } catch (IOException e) {
                handlerSaw.set("failed: " + e.getClass().getSimpleName());
            }
            ex.close();
        }).getFilters().add(guard);
        server.createContext("/slow", ex -> {
            try {
                Thread.sleep(1500); // thinking, not waiting on the peer
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = "done".getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        }).getFilters().add(guard);
        server.createContext("/big", ex -> {
            byte[] block = new byte[1 << 16];
            try (OutputStream out = ex.getResponseBody()) {
                ex.sendResponseHeaders(200, 0);
                for (int i = 0; i < 4096; i++) { // 256 MiB: more than any socket buffer holds
                    out.write(block);
                }
                handlerSaw.set("wrote everything");
            } catch (IOException e) {
                handlerSaw.set("failed: " + e.getClass().getSimpleName());
            }
        }).getFilters().add(guard);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
        executor.shutdownNow();
        guard.close();
    }

    private Socket request(String head) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), server.getAddress().getPort());
        s.setSoTimeout(30_000);
        s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return s;
    }

    private void awaitStalls(long n) throws InterruptedException {
        for (int i = 0; i < 300 && guard.stalledExchanges() < n; i++) {
            Thread.sleep(100);
        }
        assertEquals(n, guard.stalledExchanges(), "exchanges closed as stalled");
    }

    @Test
    void aClientThatStopsSendingItsBodyIsCutOff() throws Exception {
        try (Socket s = request("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nonly this")) {
            awaitStalls(1);
            InputStream in = s.getInputStream();
            int first;
            try {
                first = in.read();
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the server never dropped the connection", e);
            } catch (IOException reset) {
                first = -1;
            }
            assertEquals(-1, first, "the connection is closed without a response");
        }
        for (int i = 0; i < 100 && handlerSaw.get().equals("nothing yet"); i++) {
            Thread.sleep(50);
        }
        assertTrue(handlerSaw.get().startsWith("failed"), handlerSaw.get());
    }

    @Test
    void aHandlerThatComputesLongerThanTheLimitIsNotAStall() throws Exception {
        try (Socket s = request("GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")) {
            String reply = new String(s.getInputStream().readNBytes(200), StandardCharsets.US_ASCII);
            assertTrue(reply.startsWith("HTTP/1.1 200"), reply);
            assertTrue(reply.endsWith("done"), reply);
        }
        assertEquals(0, guard.stalledExchanges());
    }

    @Test
    void aClientThatStopsReadingTheResponseIsCutOff() throws Exception {
        try (Socket s = request("GET /big HTTP/1.1\r\nHost: t\r\n\r\n")) {
            awaitStalls(1);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[1 << 16];
            long total = 0;
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    total += n;
                }
            } catch (java.net.SocketTimeoutException e) {
                throw new AssertionError("the server never dropped the connection", e);
            } catch (IOException reset) {
                // A reset is as good as an end here.
            }
            assertTrue(total < 256L << 20, "the response was cut short, after " + total + " bytes");
        }
        assertTrue(handlerSaw.get().startsWith("failed"), handlerSaw.get());
    }

    @Test
    void aLimitMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> new StallGuard(Duration.ZERO));
    }
}
