package io.aether.sync;

import io.aether.security.Identity;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.net.URI;
import java.security.SecureRandom;

/** Test helpers for signed requests below {@link RemoteRepository}. */
final class Signed {

    private static final SecureRandom RANDOM = new SecureRandom();

    private Signed() {
    }

    /** A raw link to {@code port} whose requests {@code who} signs now (null: unsigned). */
    static HttpLink link(int port, ServerTrust trust, Identity who) {
        return link(port, trust, who == null ? null : (server, method, path, body) -> header(who, server, method, path, body));
    }

    static HttpLink link(int port, ServerTrust trust, HttpLink.Signer signer) {
        return new HttpLink(URI.create("https://127.0.0.1:" + port), Tls.clientContext(trust), 10_000, signer);
    }

    /** An Authorization header signed now by {@code who} for the server with certificate fingerprint {@code server}. */
    static String header(Identity who, String server, String method, String path, byte[] body) {
        return RequestAuth.sign(who, server, method, path, body, System.currentTimeMillis(), RANDOM).header();
    }
}
