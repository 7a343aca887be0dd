package io.aether.security;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The per-user configuration directory: keys, trusted keys, pinned servers, TLS credentials.
 *
 * <p>Resolved from the system property {@code aether.home}, else the environment variable
 * {@code AETHER_HOME}, else {@code ~/.config/aether}.
 *
 * @param dir the directory (it need not exist yet)
 */
public record AetherHome(Path dir) {

    /** System property that overrides {@code AETHER_HOME} (tests and embedding use it). */
    public static final String PROPERTY = "aether.home";
    /** Environment variable naming the directory. */
    public static final String ENV = "AETHER_HOME";

    public AetherHome {
        Objects.requireNonNull(dir, "dir");
        dir = dir.toAbsolutePath().normalize();
    }

    /** The home chosen by {@value #PROPERTY}, {@value #ENV} or the default, in that order. */
    public static AetherHome resolve() {
        String prop = System.getProperty(PROPERTY);
        if (prop != null && !prop.isBlank()) {
            return new AetherHome(Path.of(prop));
        }
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) {
            return new AetherHome(Path.of(env));
        }
        return new AetherHome(Path.of(System.getProperty("user.home"), ".config", "aether"));
    }

    /** The user's signing key, PKCS#8 PEM, mode 0600. */
    public Path privateKeyFile() {
        return dir.resolve("keys").resolve("identity.key");
    }

    /** The user's public key, X.509 PEM. */
    public Path publicKeyFile() {
        return dir.resolve("keys").resolve("identity.pub");
    }

    /** The trust store: one {@code <keyid>.pub} file per accepted author key. */
    public Path trustDir() {
        return dir.resolve("trusted");
    }

    /** Trust-on-first-use pins of servers' certificates, one {@code host:port sha256} per line. */
    public Path knownServersFile() {
        return dir.resolve("known_servers");
    }

    /** The TLS server certificate and key of this machine (generated on first serve). */
    public Path tlsDir() {
        return dir.resolve("tls");
    }
}
