package io.aether.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.unixdomain.server.UnixDomainServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * An HTTP/1.1 server on Jetty with Aether's listeners, routing, JSON errors and limits
 * ({@link Limits}). Handlers run on virtual threads; Jetty's own threads only move bytes.
 *
 * <pre>{@code
 * Router router = new Router()
 *         .get("/v1/vms", req -> Response.ok(vms.list()))
 *         .post("/v1/vms/{id}/pause", req -> Response.ok(vms.pause(req.param("id"))));
 * try (HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(path)), router, Limits.DEFAULTS)) { ... }
 * }</pre>
 */
public final class HttpServer implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(HttpServer.class.getName());
    /* Jetty logs each start and stop at INFO; failures still show. The reference keeps the level. */
    private static final Logger JETTY_LOG = Logger.getLogger("org.eclipse.jetty");

    static {
        JETTY_LOG.setLevel(Level.WARNING);
    }

    /** The name of a {@link Listener.Browser}'s connector, by which a request's {@link Peer#browser} is known. */
    static final String BROWSER_CONNECTOR = "browser";

    private final Server server;
    private final Dispatcher dispatcher;
    private final ConnectionGuard guard;
    private final Counters counters;
    private final Limits limits;
    private final ScheduledExecutorService timer;
    private final List<UnixSocketFile> socketFiles;
    private final List<ServerConnector> tcp;
    /** The connector opened for each TCP listener, to tell a caller which port it got. */
    private final java.util.Map<Listener, ServerConnector> byListener = new java.util.HashMap<>();
    private boolean stopped;

    private HttpServer(Server server, Dispatcher dispatcher, ConnectionGuard guard, Counters counters, Limits limits,
                       ScheduledExecutorService timer, List<UnixSocketFile> socketFiles, List<ServerConnector> tcp) {
        this.server = server;
        this.dispatcher = dispatcher;
        this.guard = guard;
        this.counters = counters;
        this.limits = limits;
        this.timer = timer;
        this.socketFiles = socketFiles;
        this.tcp = tcp;
    }

    /**
     * Starts serving {@code router} on every listener.
     *
     * @throws IOException naming the listener that could not be opened (address in use, a
     *                     socket path that is taken or not a socket, ...); nothing is left open
     */
    public static HttpServer start(List<Listener> listeners, Router router, Limits limits) throws IOException {
        if (listeners.isEmpty()) {
            throw new IllegalArgumentException("a server needs at least one listener");
        }
        Counters counters = new Counters();
        ConnectionGuard guard = new ConnectionGuard(limits, counters);
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("http-timer").unstarted(r));
        Dispatcher dispatcher = new Dispatcher(router.table(limits), limits, counters, guard, timer);

        QueuedThreadPool pool = new QueuedThreadPool(8 + 4 * listeners.size(), 2);
        pool.setName("http");
        pool.setDaemon(true);
        Server server = new Server(pool);
        server.setStopTimeout(0);
        server.setHandler(dispatcher);
        server.setErrorHandler((request, response, callback) -> malformed(counters, request, response, callback));
        server.addBean(new NetworkConnectionLimit(2 * limits.maxConnections(), server));

        HttpConfiguration http = new HttpConfiguration();
        http.setSendServerVersion(false);
        http.setSendXPoweredBy(false);
        http.setRequestHeaderSize(limits.maxHeaderBytes());

        List<UnixSocketFile> socketFiles = new ArrayList<>();
        List<ServerConnector> tcp = new ArrayList<>();
        HttpServer started = new HttpServer(server, dispatcher, guard, counters, limits, timer, socketFiles, tcp);
        try {
            for (Listener l : listeners) {
                AbstractConnector c = switch (l) {
                    case Listener.UnixSocket u -> {
                        UnixSocketFile file = UnixSocketFile.prepare(u.path());
                        socketFiles.add(file);
                        var unix = new UnixDomainServerConnector(server, 1, 1, new HttpConnectionFactory(http));
                        unix.setUnixDomainPath(file.bindPath());
                        yield unix;
                    }
                    case Listener.Tcp t -> {
                        var ssl = new SslConnectionFactory(PqTls.jetty(t.credentials(), t.clientAuth()), "http/1.1");
                        HttpConfiguration https = new HttpConfiguration(http);
                        // Pinned, self-signed certificates name no host: the Host header is not checked against them.
                        https.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
                        var connector = new ServerConnector(server, 1, 1, ssl, new HttpConnectionFactory(https));
                        connector.setHost(t.host());
                        connector.setPort(t.port());
                        tcp.add(connector);
                        yield connector;
                    }
                    case Listener.Browser b -> {
                        var ssl = new SslConnectionFactory(PqTls.browser(b.credentials()), "http/1.1");
                        HttpConfiguration https = new HttpConfiguration(http);
                        // The certificate is pinned by the browser's operator, not issued for a host name.
                        https.addCustomizer(new SecureRequestCustomizer(false, false, -1, false));
                        var connector = new ServerConnector(server, 1, 1, ssl, new HttpConnectionFactory(https));
                        connector.setName(BROWSER_CONNECTOR);
                        connector.setHost(b.host());
                        connector.setPort(b.port());
                        tcp.add(connector);
                        yield connector;
                    }
                    case Listener.PlainTcp p -> {
                        var connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
                        // Jetty's default, kept on purpose: a chunked answer's last small write would wait for the peer's delayed ACK.
                        connector.setAcceptedTcpNoDelay(true);
                        connector.setHost(p.host());
                        connector.setPort(p.port());
                        tcp.add(connector);
                        yield connector;
                    }
                };
                if (c instanceof ServerConnector s) started.byListener.put(l, s);
                c.setIdleTimeout(limits.idleTimeout().toMillis());
                c.addBean(guard);
                server.addConnector(c);
            }
            try {
                server.start();
            } catch (IOException e) {
                throw new IOException("cannot listen on " + describe(server.getConnectors()) + ": " + e.getMessage(), e);
            } catch (Exception e) {
                throw new IOException("cannot start the HTTP server: " + e.getMessage(), e);
            }
            for (UnixSocketFile f : socketFiles) {
                f.publish();
            }
            long period = guard.sweepPeriod().toMillis();
            timer.scheduleAtFixedRate(guard::sweep, period, period, TimeUnit.MILLISECONDS);
            return started;
        } catch (IOException | RuntimeException e) {
            started.stop(Duration.ZERO);
            throw e;
        }
    }

    /** The port of the first TCP listener (the one picked when it asked for port 0). */
    public int port() {
        if (tcp.isEmpty()) {
            throw new IllegalStateException("this server has no TCP listener");
        }
        return tcp.getFirst().getLocalPort();
    }

    /** The port {@code listener}, one of the TCP listeners this server was started with, got. */
    public int port(Listener listener) {
        ServerConnector connector = byListener.get(listener);
        if (connector == null) {
            throw new IllegalArgumentException("this server has no TCP listener " + listener);
        }
        return connector.getLocalPort();
    }

    public Stats stats() {
        return counters.snapshot(guard.connections());
    }

    /** Stops within {@link Limits#stopGrace}: see {@link #stop}. */
    @Override
    public void close() {
        stop(limits.stopGrace());
    }

    /**
     * Stops accepting connections (Unix socket files are removed), ends every event stream
     * cleanly, answers new requests on open connections 503, lets requests in flight finish
     * within {@code grace}, then closes every connection and interrupts what still runs.
     */
    public synchronized void stop(Duration grace) {
        if (stopped) {
            return;
        }
        stopped = true;
        for (Connector c : server.getConnectors()) {
            if (c instanceof ServerConnector s) {
                s.close();
            } else if (c instanceof AbstractConnector a) {
                a.setAccepting(false);
            }
        }
        removeSocketFiles();
        dispatcher.beginStop();
        long end = System.nanoTime() + grace.toNanos();
        try {
            while (counters.inFlight.get() > 0 && System.nanoTime() < end) {
                Thread.sleep(5);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            server.stop();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "stopping the HTTP server", e);
        }
        dispatcher.abandon();
        timer.shutdownNow();
        removeSocketFiles();
    }

    private void removeSocketFiles() {
        for (UnixSocketFile f : socketFiles) {
            try {
                f.abandon();
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot remove " + f.path(), e);
            }
        }
    }

    /** Jetty's answer to what it could not parse (bad request line, ambiguous path, headers too large), as JSON. */
    private static boolean malformed(Counters counters, org.eclipse.jetty.server.Request request,
                                     org.eclipse.jetty.server.Response response, org.eclipse.jetty.util.Callback callback) {
        int status = request.getAttribute(ErrorHandler.ERROR_STATUS) instanceof Integer s && s >= 400 ? s : 400;
        response.setStatus(status);
        if (status < 500) {
            counters.refused(Stats.Refusal.MALFORMED);
        }
        counters.answered(status);
        String reason = HttpStatus.getMessage(status);
        byte[] body = ("{\"error\":\"malformed\",\"message\":\"" + reason + "\"}").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONNECTION, "close");
        response.write(true, ByteBuffer.wrap(body), callback);
        return true;
    }

    private static String describe(Connector[] connectors) {
        List<String> names = new ArrayList<>();
        for (Connector c : connectors) {
            names.add(c instanceof ServerConnector s ? s.getHost() + ":" + s.getPort() : "a Unix socket");
        }
        return String.join(", ", names);
    }
}
