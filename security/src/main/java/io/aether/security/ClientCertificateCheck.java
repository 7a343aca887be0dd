package io.aether.security;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

/**
 * A server's judgement of a client certificate during the handshake, for trust that lives
 * outside the TLS set-up (for example certificates issued by a fabric's controllers and revoked
 * in its replicated state). Throwing fails the handshake.
 */
@FunctionalInterface
public interface ClientCertificateCheck {

    /** Accepts the client whose chain starts with {@code leaf}, or throws saying why not. */
    void check(X509Certificate leaf) throws CertificateException;
}
