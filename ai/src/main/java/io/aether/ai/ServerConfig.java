package io.aether.ai;

import java.net.InetSocketAddress;

/**
 * How {@link InferenceServer} listens.
 *
 * @param address      where to listen (port 0 picks a free port)
 * @param maxBodyBytes largest request body accepted; larger ones are answered 413
 * @param admin        whether the switch/canary/promote/rollback endpoints are served; they
 *                     change what answers every client, so they are off unless asked for
 */
public record ServerConfig(InetSocketAddress address, long maxBodyBytes, boolean admin) {

    public static final long DEFAULT_MAX_BODY = 32L << 20;

    public ServerConfig {
        if (address == null) {
            throw new IllegalArgumentException("server needs an address");
        }
        if (maxBodyBytes < 1024 || maxBodyBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("max body must be 1 KiB..2 GiB, got " + maxBodyBytes);
        }
    }

    /** Loopback only, port 8080, 32 MiB bodies, no admin endpoints. */
    public static ServerConfig defaults() {
        return new ServerConfig(new InetSocketAddress("127.0.0.1", 8080), DEFAULT_MAX_BODY, false);
    }

    public ServerConfig withAddress(InetSocketAddress a) {
        return new ServerConfig(a, maxBodyBytes, admin);
    }

    public ServerConfig withMaxBodyBytes(long n) {
        return new ServerConfig(address, n, admin);
    }

    public ServerConfig withAdmin(boolean on) {
        return new ServerConfig(address, maxBodyBytes, on);
    }
}
