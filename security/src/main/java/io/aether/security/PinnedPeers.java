package io.aether.security;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;

/**
 * Mutual TLS's trust: accepts exactly the peer certificates with these SHA-256 fingerprints, in
 * one direction only (a server's pins never admit a server, a client's never a client).
 */
final class PinnedPeers extends OneWayTrustManager {

    private final Set<String> fingerprints;
    private final boolean peersAreClients;

    PinnedPeers(Set<String> fingerprints, boolean peersAreClients) {
        this.fingerprints = Set.copyOf(fingerprints);
        this.peersAreClients = peersAreClients;
    }

    @Override
    void checkFromClient(X509Certificate[] chain) throws CertificateException {
        check(chain, true);
    }

    @Override
    void checkFromServer(X509Certificate[] chain) throws CertificateException {
        check(chain, false);
    }

    private void check(X509Certificate[] chain, boolean fromClient) throws CertificateException {
        String peer = fromClient ? "client" : "server";
        if (fromClient != peersAreClients) {
            throw new CertificateException("a " + peer + " certificate is not expected here");
        }
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the " + peer + " sent no certificate");
        }
        chain[0].checkValidity();
        String got = Tls.fingerprint(chain[0]);
        if (!fingerprints.contains(got)) {
            throw new CertificateException(peer + " certificate sha256:" + got + " is not pinned");
        }
    }
}
