package io.aether.security;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Locale;
import java.util.Objects;

/**
 * How a client decides that a server's certificate is the right one. Servers use self-signed
 * certificates, so there is no CA chain: the client pins the certificate's SHA-256 fingerprint.
 */
public sealed interface ServerTrust {

    /** Accept exactly the certificate with this SHA-256 fingerprint (lower-case hex). */
    record Pinned(String fingerprint) implements ServerTrust {
        public Pinned {
            Objects.requireNonNull(fingerprint, "fingerprint");
            fingerprint = fingerprint.toLowerCase(Locale.ROOT).replaceFirst("^sha256:", "");
            if (!fingerprint.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("a certificate fingerprint is 64 hex digits: '" + fingerprint + "'");
            }
        }
    }

    /**
     * Trust on first use: the first certificate seen for {@code hostPort} is recorded in
     * {@code knownServers}; later connections must present the same one.
     */
    record TrustOnFirstUse(KnownServers knownServers, String hostPort) implements ServerTrust {
        public TrustOnFirstUse {
            Objects.requireNonNull(knownServers, "knownServers");
            Objects.requireNonNull(hostPort, "hostPort");
        }
    }

    /** Pins {@code certificate}. */
    static ServerTrust pinned(X509Certificate certificate) {
        return new Pinned(Tls.fingerprint(certificate));
    }

    /** Pins the certificate in the PEM file {@code file}. */
    static ServerTrust pinnedFile(Path file) throws IOException {
        return pinned(ServerCredentials.readCertificate(file));
    }
}
