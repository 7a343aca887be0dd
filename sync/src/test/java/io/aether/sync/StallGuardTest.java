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
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The stall guard on a plain JDK HTTP server with raw-socket clients that misbehave. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class StallGuardTest {

    private HttpServer server;
    private ExecutorService executor;
    private StallGuard guard;
    private final AtomicReference<String> handlerSaw = new AtomicReference<>("nothing yet");

    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger holding = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        start(StallGuard.Limits.of(Duration.ofMillis(300)));
    }

    private void start(StallGuard.Limits limits) throws IOException {
        if (server != null) {
            stop();
        }
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        executor = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(executor);
        guard = new StallGuard(limits);
        server.createContext("/hold", ex -> {
            holding.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.sendResponseHeaders(200, -1);
            ex.close();
        }).getFilters().add(guard);
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
        assertThrows(IllegalArgumentException.class, () -> new StallGuard.Limits(Duration.ofSeconds(1), -1, Duration.ofSeconds(1), 1, 1));
        assertThrows(IllegalArgumentException.class, () -> new StallGuard.Limits(Duration.ofSeconds(1), 0, Duration.ofSeconds(1), 0, 1));
    }

    /**
     * Sends an upload's head, then one byte every {@code everyMillis} until the server drops the
     * connection; returns how long that took.
     */
    private long trickle(long everyMillis) throws Exception {
        long t0 = System.nanoTime();
        try (Socket s = request("POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")) {
            OutputStream out = s.getOutputStream();
            try {
                for (int i = 0; i < 20_000 / everyMillis; i++) {
                    Thread.sleep(everyMillis);
                    out.write('x');
                    out.flush();
                }
            } catch (IOException cut) {
                return (System.nanoTime() - t0) / 1_000_000;
            }
        }
        throw new AssertionError("a client sending a byte every " + everyMillis + " ms was never cut off");
    }

    @Test
    void aClientThatSendsAByteEvery200MillisecondsIsCutOff() throws Exception {
        // Every read finishes well inside the one-second stall limit: only the minimum rate catches it.
        start(new StallGuard.Limits(Duration.ofSeconds(1), 1024, Duration.ofMinutes(10), 8, 8));
        long took = trickle(200);
        assertEquals(1, guard.stalledExchanges());
        assertTrue(took < 10_000, "cut off after " + took + " ms");
        for (int i = 0; i < 100 && handlerSaw.get().equals("nothing yet"); i++) {
            Thread.sleep(50);
        }
        assertTrue(handlerSaw.get().startsWith("failed"), handlerSaw.get());
    }

    @Test
    void anExchangeIsCutOffAtItsIoDeadline() throws Exception {
        // No minimum rate: only the total time the server waits on the client ends it.
        start(new StallGuard.Limits(Duration.ofSeconds(1), 0, Duration.ofMillis(1500), 8, 8));
        long took = trickle(100);
        assertEquals(1, guard.stalledExchanges());
        assertTrue(took >= 1_400 && took < 10_000, "cut off after " + took + " ms");
    }

    private static int status(Socket s) throws IOException {
        String line = HttpLink.readLine(s.getInputStream());
        return Integer.parseInt(line.split(" ")[1]);
    }

    private Socket from(String localAddress, String head) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(localAddress), 0));
        s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getAddress().getPort()));
        s.setSoTimeout(30_000);
        s.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
        return s;
    }

    private void awaitHolding(int n) throws InterruptedException {
        for (int i = 0; i < 1500 && holding.get() < n; i++) { // up to 30 s on a loaded machine
            Thread.sleep(20);
        }
        assertEquals(n, holding.get(), "exchanges running");
    }

    @Test
    void exchangesAtOnceAreCappedPerServerAndPerClientAddress() throws Exception {
        start(new StallGuard.Limits(Duration.ofSeconds(30), 0, Duration.ofMinutes(10), 4, 2));
        String hold = "GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        List<Socket> held = new ArrayList<>();
        try {
            held.add(from("127.0.0.1", hold));
            held.add(from("127.0.0.1", hold));
            held.add(from("127.0.0.2", hold));
            awaitHolding(3);
            try (Socket third = from("127.0.0.1", hold)) {
                assertEquals(429, status(third), "a third from one address");
            }
            held.add(from("127.0.0.3", hold));
            awaitHolding(4);
            try (Socket fifth = from("127.0.0.4", hold)) {
                assertEquals(503, status(fifth), "a fifth for the server");
            }
            assertEquals(4, holding.get(), "the refused ones never reached the handler");
            assertEquals(2, guard.refusedExchanges());
            release.countDown();
            for (Socket s : held) {
                assertEquals(200, status(s));
            }
            // Finished exchanges free their places.
            try (Socket again = from("127.0.0.1", hold)) {
                assertEquals(200, status(again));
            }
        } finally {
            release.countDown();
            for (Socket s : held) {
                s.close();
            }
        }
    }
}
