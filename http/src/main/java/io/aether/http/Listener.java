package io.aether.http;

import io.aether.security.BrowserCredentials;
import io.aether.security.ClientCertificateCheck;
import io.aether.security.ServerCredentials;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/** Where a server listens. */
public sealed interface Listener {

    /**
     * A Unix domain socket at {@code path}, mode 0600 (only the server's user may connect). A
     * stale socket file there (no server answering) is replaced; a live one, or anything that
     * is not a socket, is refused with the reason.
     */
    record UnixSocket(Path path) implements Listener {
        public UnixSocket {
            Objects.requireNonNull(path, "path");
        }
    }

    /**
     * TCP, always with TLS 1.3, X25519MLKEM768 and ML-DSA-65 only (the security module's post-quantum
     * TLS), presenting {@code credentials}.
     *
     * @param port 0 picks a free port ({@link HttpServer#port})
     */
    record Tcp(String host, int port, ServerCredentials credentials, ClientAuth clientAuth) implements Listener {
        public Tcp {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(credentials, "credentials");
            Objects.requireNonNull(clientAuth, "clientAuth");
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
        }
    }

    /**
     * TCP with TLS 1.3 a browser can use, for the dashboard: the key exchange prefers the hybrid
     * post-quantum X25519MLKEM768 (Chromium and Firefox offer it) and falls back to X25519 or
     * P-256, and the server authenticates with a classical ECDSA P-256 certificate, because no
     * browser verifies an ML-DSA one yet. No client certificate is asked for: a request's
     * {@link Peer#browser} is set, and the server's guard authenticates it otherwise.
     *
     * @param port 0 picks a free port ({@link HttpServer#port(Listener)})
     */
    record Browser(String host, int port, BrowserCredentials credentials) implements Listener {
        public Browser {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(credentials, "credentials");
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
        }
    }

    /**
     * TCP without TLS, for an endpoint that has always been plain HTTP (the inference server,
     * on loopback by default): anyone on the path reads and changes what it carries.
     *
     * @param port 0 picks a free port ({@link HttpServer#port})
     */
    record PlainTcp(String host, int port) implements Listener {
        public PlainTcp {
            Objects.requireNonNull(host, "host");
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port must be 0..65535, got " + port);
            }
        }
    }

    /** Whether a TLS listener asks its clients for certificates. */
    sealed interface ClientAuth {

        /** Any client that completes the handshake. */
        record None() implements ClientAuth { }

        /**
         * Mutual TLS: the handshake fails unless the client presents a currently valid
         * certificate whose SHA-256 fingerprint (lower-case hex) is one of {@code fingerprints};
         * the handler sees it in {@link Peer#certificate}.
         */
        record Pinned(Set<String> fingerprints) implements ClientAuth {
            public Pinned {
                fingerprints = Set.copyOf(fingerprints);
                if (fingerprints.isEmpty()) {
                    throw new IllegalArgumentException("mutual TLS needs at least one client certificate fingerprint");
                }
                for (String f : fingerprints) {
                    if (!f.matches("[0-9a-f]{64}")) {
                        throw new IllegalArgumentException("a certificate fingerprint is 64 lower-case hex digits: '" + f + "'");
                    }
                }
            }
        }

        /**
         * Mutual TLS where the certificate is optional: a client that presents one is admitted
         * only if {@code check} accepts it (at every handshake, so a certificate revoked since
         * is refused); a client that presents none still connects, and its handler sees no
         * {@link Peer#certificate} (for requests that authenticate otherwise, such as a node's
         * signed registration).
         */
        record Checked(ClientCertificateCheck check) implements ClientAuth {
            public Checked {
                Objects.requireNonNull(check, "check");
            }
        }
    }
}
