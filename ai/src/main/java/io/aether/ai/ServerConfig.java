package io.aether.ai;

import java.net.InetSocketAddress;

/**
 * How {@link InferenceServer} listens.
 *
 * @param address          where to listen (port 0 picks a free port)
 * @param maxBodyBytes     largest request body accepted; larger ones are answered 413
 * @param maxInFlightBytes most bytes of request tensors the server holds at once, across all
 *                         requests; a request that would go over waits a moment, then is answered
 *                         503 (413 if it alone needs more)
 * @param adminToken       the token the switch/canary/promote/rollback endpoints require, or null
 *                         to not serve them; they change what answers every client, so they are
 *                         off unless asked for
 */
public record ServerConfig(InetSocketAddress address, long maxBodyBytes, long maxInFlightBytes, AdminToken adminToken) {

    public static final long DEFAULT_MAX_BODY = 32L << 20;
    /** The in-flight budget's floor: room for a few requests of the default body limit. */
    static final long MIN_DEFAULT_IN_FLIGHT = 64L << 20;

    public ServerConfig {
        if (address == null) {
            throw new IllegalArgumentException("server needs an address");
        }
        if (maxBodyBytes < 1024 || maxBodyBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("max body must be 1 KiB..2 GiB, got " + maxBodyBytes);
        }
        if (maxInFlightBytes < 1024) {
            throw new IllegalArgumentException("in-flight budget must be at least 1 KiB, got " + maxInFlightBytes);
        }
    }

    /**
     * Loopback only, port 8080, 32 MiB bodies, a quarter of the JVM's heap (at least 64 MiB) for
     * request tensors in flight, no admin endpoints.
     */
    public static ServerConfig defaults() {
        return new ServerConfig(new InetSocketAddress("127.0.0.1", 8080), DEFAULT_MAX_BODY, defaultInFlightBytes(), null);
    }

    /** A quarter of the JVM's largest heap, at least 64 MiB. */
    public static long defaultInFlightBytes() {
        return Math.max(MIN_DEFAULT_IN_FLIGHT, Runtime.getRuntime().maxMemory() / 4);
    }

    /** Whether the admin endpoints are served. */
    public boolean admin() {
        return adminToken != null;
    }

    public ServerConfig withAddress(InetSocketAddress a) {
        return new ServerConfig(a, maxBodyBytes, maxInFlightBytes, adminToken);
    }

    public ServerConfig withMaxBodyBytes(long n) {
        return new ServerConfig(address, n, maxInFlightBytes, adminToken);
    }

    public ServerConfig withMaxInFlightBytes(long n) {
        return new ServerConfig(address, maxBodyBytes, n, adminToken);
    }

    /** Serves the admin endpoints to requests that present {@code token}; null turns them off. */
    public ServerConfig withAdminToken(AdminToken token) {
        return new ServerConfig(address, maxBodyBytes, maxInFlightBytes, token);
    }
}
