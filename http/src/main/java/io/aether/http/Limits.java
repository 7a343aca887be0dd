package io.aether.http;

import java.time.Duration;

/**
 * What a server grants its peers. Every limit is enforced on every listener, and every refusal
 * is counted in {@link Stats}.
 *
 * @param maxConnections          connections served at once over all listeners; one more is
 *                                answered 503 (Retry-After) and closed. Twice this many are the
 *                                hard ceiling at which the server stops accepting until some close.
 * @param maxConnectionsPerClient connections served at once from one TCP client address; one more
 *                                is answered 429 and closed (Unix-socket peers are all local: only
 *                                the total applies to them)
 * @param idleTimeout             a connection that moves no bytes for this long while the server
 *                                waits on its peer is closed (a handler's own work is bounded by
 *                                the request deadline instead)
 * @param minDataRate             bytes per second a peer must average while it sends a request
 *                                (TLS handshake, request head, body); a slower one is cut off:
 *                                closed mid-head, answered 408 mid-body
 * @param rateGrace               how long a transfer runs before {@code minDataRate} is checked,
 *                                so that a small request over a slow link is not judged on its
 *                                first packet
 * @param maxBodyBytes            the body limit of a route that does not set its own
 * @param requestDeadline         the deadline of a route that does not set its own: from the
 *                                request head to the response, body included; exceeded, it is
 *                                answered 503 (Retry-After) and the handler is interrupted
 * @param maxHeaderBytes          the request line and headers together; more is answered 431
 * @param heartbeat               an idle event stream sends a comment this often, so that it
 *                                neither hits {@code idleTimeout} nor hides a dead peer
 * @param stopGrace               how long {@link HttpServer#close()} waits for requests in flight
 */
public record Limits(int maxConnections, int maxConnectionsPerClient, Duration idleTimeout, long minDataRate,
                     Duration rateGrace, long maxBodyBytes, Duration requestDeadline, int maxHeaderBytes,
                     Duration heartbeat, Duration stopGrace) {

    /** The most any body limit may be: bodies are held in memory. */
    public static final long MAX_BODY_LIMIT = 64L << 20;
    /** The most a streamed route's body may be: its handler holds what it keeps, not the stack. */
    public static final long MAX_STREAMED_BODY_LIMIT = 1L << 40;

    /**
     * 512 connections, 32 per client address, 30 s idle, 1 KiB/s after 2 s, 1 MiB bodies,
     * 30 s per request, 16 KiB of headers, a heartbeat every 15 s, 10 s to stop.
     */
    public static final Limits DEFAULTS = new Limits(512, 32, Duration.ofSeconds(30), 1024, Duration.ofSeconds(2),
            1 << 20, Duration.ofSeconds(30), 16 << 10, Duration.ofSeconds(15), Duration.ofSeconds(10));

    public Limits {
        if (maxConnections < 1 || maxConnections > 100_000) {
            throw new IllegalArgumentException("max connections must be 1..100000, got " + maxConnections);
        }
        if (maxConnectionsPerClient < 1 || maxConnectionsPerClient > maxConnections) {
            throw new IllegalArgumentException("max connections per client must be 1..max connections (" + maxConnections
                    + "), got " + maxConnectionsPerClient);
        }
        positive("idle timeout", idleTimeout);
        if (minDataRate < 1) {
            throw new IllegalArgumentException("min data rate must be at least 1 byte/s, got " + minDataRate);
        }
        positive("rate grace", rateGrace);
        if (maxBodyBytes < 0 || maxBodyBytes > MAX_BODY_LIMIT) {
            throw new IllegalArgumentException("max body bytes must be 0.." + MAX_BODY_LIMIT + ", got " + maxBodyBytes);
        }
        positive("request deadline", requestDeadline);
        if (maxHeaderBytes < 1024 || maxHeaderBytes > 1 << 20) {
            throw new IllegalArgumentException("max header bytes must be 1024..1048576, got " + maxHeaderBytes);
        }
        positive("heartbeat", heartbeat);
        if (heartbeat.compareTo(idleTimeout) >= 0) {
            throw new IllegalArgumentException("heartbeat (" + heartbeat + ") must be shorter than the idle timeout (" + idleTimeout + ")");
        }
        if (stopGrace == null || stopGrace.isNegative()) {
            throw new IllegalArgumentException("stop grace must be zero or more, got " + stopGrace);
        }
    }

    static void positive(String what, Duration d) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, got " + d);
        }
    }

    public Limits withMaxConnections(int total, int perClient) {
        return new Limits(total, perClient, idleTimeout, minDataRate, rateGrace, maxBodyBytes, requestDeadline, maxHeaderBytes,
                heartbeat, stopGrace);
    }

    public Limits withIdleTimeout(Duration d) {
        return new Limits(maxConnections, maxConnectionsPerClient, d, minDataRate, rateGrace, maxBodyBytes, requestDeadline,
                maxHeaderBytes, heartbeat, stopGrace);
    }

    public Limits withMinDataRate(long bytesPerSecond, Duration grace) {
        return new Limits(maxConnections, maxConnectionsPerClient, idleTimeout, bytesPerSecond, grace, maxBodyBytes,
                requestDeadline, maxHeaderBytes, heartbeat, stopGrace);
    }

    public Limits withHeartbeat(Duration d) {
        return new Limits(maxConnections, maxConnectionsPerClient, idleTimeout, minDataRate, rateGrace, maxBodyBytes,
                requestDeadline, maxHeaderBytes, d, stopGrace);
    }

    public Limits withStopGrace(Duration d) {
        return new Limits(maxConnections, maxConnectionsPerClient, idleTimeout, minDataRate, rateGrace, maxBodyBytes,
                requestDeadline, maxHeaderBytes, heartbeat, d);
    }
}
