package io.aether.http;

import io.aether.security.Tls;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * Who sent a request.
 *
 * @param address     {@code HOST:PORT} of a TCP peer, {@code unix} for a Unix-socket peer
 * @param certificate the client certificate, verified against the listener's pins, where the
 *                    listener requires one (mutual TLS)
 * @param browser     whether it came through a {@link Listener.Browser} listener, whose requests
 *                    carry no client certificate and must authenticate otherwise
 */
public record Peer(String address, Optional<X509Certificate> certificate, boolean browser) {

    /** A peer of any listener but a browser listener. */
    public Peer(String address, Optional<X509Certificate> certificate) {
        this(address, certificate, false);
    }

    /** The SHA-256 fingerprint of the client certificate, lower-case hex. */
    public Optional<String> fingerprint() {
        return certificate.map(Tls::fingerprint);
    }
}
