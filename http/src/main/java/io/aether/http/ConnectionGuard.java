package io.aether.http;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.ssl.SslConnection;
import org.eclipse.jetty.io.ssl.SslHandshakeListener;

/**
 * Admits connections against the connection caps and cuts off peers that send slower than the
 * minimum data rate. Jetty enforces neither a per-client cap nor (in its core API) a minimum
 * request rate, and nothing bounds how long a request head or a TLS handshake may trickle in:
 * an idle timeout only fires when no byte at all arrives.
 *
 * <p>Each network connection is tracked by its network end point: for TLS that is the end point
 * under the {@link SslConnection}, whose byte count is what travels on the wire.
 */
final class ConnectionGuard implements Connection.Listener, SslHandshakeListener {

    private final Limits limits;
    private final Counters counters;
    private final Map<EndPoint, Tracked> tracked = new ConcurrentHashMap<>();
    private final Map<String, Integer> perClient = new HashMap<>();
    private int admitted;

    ConnectionGuard(Limits limits, Counters counters) {
        this.limits = limits;
        this.counters = counters;
    }

    /** Where a transfer stands, for the rate check. */
    private enum Phase { IDLE, RECEIVING, BUSY }

    /** One network connection. */
    final class Tracked {
        final Connection wire;
        final String client;
        /** Non-null: the connection is over a cap and each request on it is answered with this, then closed. */
        final ApiError refusal;
        private Phase phase = Phase.IDLE;
        private long mark;
        private long startNanos;

        private Tracked(Connection wire, String client, ApiError refusal) {
            this.wire = wire;
            this.client = client;
            this.refusal = refusal;
        }

        /** A request was handed to a handler: from here the exchange enforces the body's rate and the deadline. */
        synchronized void busy() {
            phase = Phase.BUSY;
        }

        /** The connection waits for its next request (or, for TLS, its first after the handshake). */
        synchronized void idle() {
            phase = Phase.IDLE;
            mark = wire.getBytesIn();
        }

        /** Whether a request (or handshake) is arriving slower than allowed; starts the clock on its first byte. */
        synchronized boolean tooSlow(long now) {
            long in = wire.getBytesIn();
            switch (phase) {
                case IDLE -> {
                    if (in > mark) {
                        phase = Phase.RECEIVING;
                        startNanos = now;
                    }
                    return false;
                }
                case RECEIVING -> {
                    return belowRate(in - mark, now - startNanos);
                }
                case BUSY -> {
                    return false;
                }
            }
            throw new AssertionError(phase);
        }
    }

    /** Whether {@code bytes} in {@code nanos} is under the minimum rate, once the grace period is over. */
    boolean belowRate(long bytes, long nanos) {
        return nanos >= limits.rateGrace().toNanos() && (double) bytes * 1e9 < (double) limits.minDataRate() * nanos;
    }

    /** The network end point under {@code endPoint} (the same one for plain connections). */
    static EndPoint network(EndPoint endPoint) {
        return endPoint instanceof SslConnection.SslEndPoint tls ? tls.getSslConnection().getEndPoint() : endPoint;
    }

    /** The tracked connection a request arrived on. */
    Tracked of(Connection connection) {
        return tracked.get(network(connection.getEndPoint()));
    }

    int connections() {
        synchronized (perClient) {
            return admitted;
        }
    }

    @Override
    public void onOpened(Connection connection) {
        EndPoint endPoint = connection.getEndPoint();
        if (network(endPoint) != endPoint) {
            return; // the HTTP connection inside TLS: its network connection was admitted already
        }
        String client = clientOf(endPoint.getRemoteSocketAddress());
        ApiError refusal = admit(client);
        if (refusal != null) {
            // It only has to carry the answer: no reason to let it linger for a whole idle timeout.
            endPoint.setIdleTimeout(Math.min(endPoint.getIdleTimeout(), limits.rateGrace().toMillis()));
        }
        tracked.put(endPoint, new Tracked(connection, client, refusal));
    }

    @Override
    public void onClosed(Connection connection) {
        Tracked t = tracked.remove(connection.getEndPoint());
        if (t != null && t.refusal == null) {
            release(t.client);
        }
    }

    @Override
    public void handshakeSucceeded(Event event) {
        Tracked t = tracked.get(network(event.getEndPoint()));
        if (t != null) {
            t.idle(); // the handshake's bytes are not part of the first request
        }
    }

    @Override
    public void handshakeFailed(Event event, Throwable failure) {
        counters.refused(Stats.Refusal.TLS_HANDSHAKE);
    }

    /** Closes every connection that is sending a handshake or a request head too slowly. */
    void sweep() {
        long now = System.nanoTime();
        tracked.forEach((endPoint, t) -> {
            if (t.tooSlow(now)) {
                counters.refused(Stats.Refusal.SLOW_PEER);
                endPoint.close();
            }
        });
    }

    /** How often {@link #sweep} runs: a few times per grace period, at most every 250 ms. */
    Duration sweepPeriod() {
        return Duration.ofMillis(Math.max(10, Math.min(250, limits.rateGrace().toMillis() / 4)));
    }

    private ApiError admit(String client) {
        synchronized (perClient) {
            if (admitted >= limits.maxConnections()) {
                counters.refused(Stats.Refusal.CONNECTIONS);
                return new ApiError.Unavailable("server busy: " + admitted + " connections open (limit " + limits.maxConnections() + ")",
                        Duration.ofSeconds(1));
            }
            int mine = client == null ? 0 : perClient.getOrDefault(client, 0);
            if (client != null && mine >= limits.maxConnectionsPerClient()) {
                counters.refused(Stats.Refusal.CONNECTIONS_PER_CLIENT);
                return new ApiError.TooManyRequests("too many connections from " + client + ": " + mine + " open (limit "
                        + limits.maxConnectionsPerClient() + ")", Duration.ofSeconds(1));
            }
            admitted++;
            if (client != null) {
                perClient.merge(client, 1, Integer::sum);
            }
            return null;
        }
    }

    private void release(String client) {
        synchronized (perClient) {
            admitted--;
            if (client != null) {
                perClient.computeIfPresent(client, (k, n) -> n == 1 ? null : n - 1);
            }
        }
    }

    /** A TCP peer's IP address; null for a Unix-socket peer (all local, counted in the total only). */
    private static String clientOf(SocketAddress remote) {
        return remote instanceof InetSocketAddress inet && inet.getAddress() != null ? inet.getAddress().getHostAddress() : null;
    }
}
