package io.aether.security;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.SSLEngine;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.BCSSLEngine;
import org.bouncycastle.jsse.BCSSLParameters;
import org.bouncycastle.jsse.BCSSLSocket;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;

/**
 * TLS 1.3 with post-quantum key exchange and authentication, for every Aether connection.
 *
 * <p>Key exchange: only the hybrid group X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem: X25519
 * concatenated with ML-KEM-768). Server authentication: only the signature scheme mldsa65
 * (draft-ietf-tls-mldsa) with a self-signed ML-DSA-65 certificate that the client pins. The
 * JDK 25 TLS stack has neither, so the contexts come from BouncyCastle's JSSE provider backed by
 * BouncyCastle's crypto provider; neither provider is installed globally.
 *
 * <p>Because both ends offer nothing else, a completed handshake used X25519MLKEM768; a peer that
 * cannot do it fails the handshake instead of falling back to a classical group.
 */
public final class Tls {

    /** The only key-exchange group offered or accepted. */
    public static final String GROUP = "X25519MLKEM768";
    /** The only handshake signature scheme offered or accepted. */
    public static final String SIGNATURE_SCHEME = "mldsa65";
    /** The only protocol version. */
    public static final String PROTOCOL = "TLSv1.3";

    static final Provider BC = new BouncyCastleProvider();
    static final Provider JSSE = new BouncyCastleJsseProvider(BC);

    /*
     * BC's JSSE logs every connection at INFO and, on each start, warns about entries of the
     * JDK's java.security it does not understand. Those lines would interleave with command
     * output; failures still surface as exceptions. The reference keeps the level from being
     * lost when the logger is garbage-collected.
     */
    private static final Logger BC_JSSE_LOG = Logger.getLogger("org.bouncycastle.jsse");

    static {
        BC_JSSE_LOG.setLevel(Level.SEVERE);
    }

    private Tls() {
    }

    /** A server context presenting {@code credentials}. */
    public static SSLContext serverContext(ServerCredentials credentials) {
        try {
            return context(keyManagers(credentials), null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the TLS server context", e);
        }
    }

    /**
     * A server context for browsers ({@link BrowserCredentials}): TLS 1.3 with the groups of
     * {@link #BROWSER_GROUPS}, X25519MLKEM768 first, and an ECDSA P-256 certificate. Use it with
     * {@link #browserParameters}.
     */
    public static SSLContext browserServerContext(BrowserCredentials credentials) {
        try {
            return context(keyManagers(credentials.privateKey(), credentials.certificate()), null);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the TLS context for browsers", e);
        }
    }

    /**
     * The groups a browser listener accepts, most preferred first: the hybrid post-quantum group,
     * then classical ones for a browser without it (that connection is not quantum-safe).
     */
    public static final String[] BROWSER_GROUPS = {GROUP, "x25519", "secp256r1"};

    /** TLS 1.3, {@link #BROWSER_GROUPS} in that order, and the signature scheme of a P-256 certificate. */
    public static SSLParameters browserParameters(SSLContext context) {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setProtocols(new String[] {PROTOCOL});
        p.setNamedGroups(BROWSER_GROUPS.clone());
        p.setSignatureSchemes(new String[] {"ecdsa_secp256r1_sha256"});
        p.setUseCipherSuitesOrder(true);
        return p;
    }

    /**
     * Makes a browser listener's engine pick the key-exchange group by its own order
     * ({@link #BROWSER_GROUPS}: X25519MLKEM768 first) rather than the client's, asking the client
     * for that key share if it sent only a classical one. Call it after the engine's parameters are set.
     */
    public static void preferOwnGroups(SSLEngine engine) {
        if (!(engine instanceof BCSSLEngine bc)) throw new IllegalArgumentException("not an engine of BouncyCastle's JSSE: " + engine.getClass().getName());
        BCSSLParameters p = bc.getParameters();
        p.setUseNamedGroupsOrder(true);
        bc.setParameters(p);
    }

    /** As {@link #preferOwnGroups(SSLEngine)}, for an accepted socket before its handshake. */
    public static void preferOwnGroups(SSLSocket socket) {
        if (!(socket instanceof BCSSLSocket bc)) throw new IllegalArgumentException("not a socket of BouncyCastle's JSSE: " + socket.getClass().getName());
        BCSSLParameters p = bc.getParameters();
        p.setUseNamedGroupsOrder(true);
        bc.setParameters(p);
    }

    /** A client context that accepts exactly the servers {@code trust} allows. */
    public static SSLContext clientContext(ServerTrust trust) {
        try {
            PinningTrustManager tm = new PinningTrustManager(trust);
            SSLContext ctx = context(null, tm);
            PinningTrustManager.BY_CONTEXT.put(ctx, tm);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the TLS client context", e);
        }
    }

    /**
     * A mutual-TLS server context presenting {@code credentials} that accepts exactly the client
     * certificates with these SHA-256 fingerprints (lower-case hex). The listener must also ask
     * for a client certificate ({@link SSLParameters#setNeedClientAuth}).
     */
    public static SSLContext mutualServerContext(ServerCredentials credentials, Set<String> clientFingerprints) {
        return mutualContext(credentials, new PinnedPeers(clientFingerprints, true));
    }

    /**
     * A server context presenting {@code credentials} that asks for a client certificate and
     * accepts exactly those {@code check} accepts. Whether a client may also connect without one
     * is the listener's choice ({@link SSLParameters#setWantClientAuth} or {@code setNeedClientAuth}).
     */
    public static SSLContext checkedClientsServerContext(ServerCredentials credentials, ClientCertificateCheck check) {
        return mutualContext(credentials, new CheckedClients(check));
    }

    /** A mutual-TLS client context presenting {@code certificate} to the server {@code server} pins. */
    public static SSLContext mutualClientContext(ServerTrust.Pinned server, ServerCredentials certificate) {
        return mutualContext(certificate, new PinnedPeers(Set.of(server.fingerprint()), false));
    }

    private static SSLContext mutualContext(ServerCredentials own, OneWayTrustManager peers) {
        try {
            return context(keyManagers(own), peers);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a mutual TLS context", e);
        }
    }

    /** The key managers that present {@code own}'s certificate and sign with its key. */
    private static KeyManager[] keyManagers(ServerCredentials own) {
        return keyManagers(own.privateKey(), own.certificate());
    }

    private static KeyManager[] keyManagers(PrivateKey key, X509Certificate certificate) {
        return new KeyManager[] {PeerTls.keyManager(key, List.of(certificate))};
    }

    /** A TLS 1.3 context of BC's JSSE; without a trust manager it trusts no peer certificate. */
    private static SSLContext context(KeyManager[] keys, OneWayTrustManager peers) throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance(PROTOCOL, JSSE);
        ctx.init(keys, peers == null ? null : new TrustManager[] {peers}, new SecureRandom());
        return ctx;
    }

    /** The parameters every Aether socket and engine uses: TLS 1.3, {@value #GROUP}, {@value #SIGNATURE_SCHEME}. */
    public static SSLParameters parameters(SSLContext context) {
        return parameters(context, new String[] {GROUP});
    }

    static SSLParameters parameters(SSLContext context, String[] groups) {
        SSLParameters p = context.getDefaultSSLParameters();
        p.setProtocols(new String[] {PROTOCOL});
        p.setNamedGroups(groups);
        p.setSignatureSchemes(new String[] {SIGNATURE_SCHEME});
        // Pinning replaces host-name checks: the certificate is self-signed and names no host.
        p.setEndpointIdentificationAlgorithm(null);
        return p;
    }

    /**
     * Connects to {@code host:port} and completes the handshake. A rejected certificate is reported
     * with the pinning reason (which fingerprint was expected and which one came).
     */
    public static SSLSocket connect(SSLContext context, String host, int port, int timeoutMillis) throws IOException {
        return connect(context, host, port, timeoutMillis, new String[] {GROUP});
    }

    static SSLSocket connect(SSLContext context, String host, int port, int timeoutMillis, String[] groups) throws IOException {
        Socket plain = new Socket();
        try {
            plain.connect(new InetSocketAddress(host, port), timeoutMillis);
            plain.setSoTimeout(timeoutMillis);
            return handshake(context, plain, host, port, groups);
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    /**
     * Layers TLS over an already connected socket (for example one that counts its bytes) and
     * completes the handshake; the TLS socket owns {@code connected} and closes it.
     */
    public static SSLSocket handshake(SSLContext context, Socket connected, String host, int port) throws IOException {
        return handshake(context, connected, host, port, new String[] {GROUP});
    }

    private static SSLSocket handshake(SSLContext context, Socket connected, String host, int port, String[] groups) throws IOException {
        connected.setTcpNoDelay(true);
        SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket(connected, host, port, true);
        s.setSSLParameters(parameters(context, groups));
        try {
            s.startHandshake();
        } catch (IOException e) {
            s.close();
            // BC reports alerts as its own IOExceptions; callers get one SSLException type.
            String reason = PinningTrustManager.failureOf(context);
            SSLException ssl = new javax.net.ssl.SSLHandshakeException("TLS handshake with " + host + ":" + port + " failed: "
                    + (reason != null ? reason : e.getMessage()));
            ssl.initCause(e);
            throw ssl;
        }
        return s;
    }

    /** SHA-256 of the DER encoding, lower-case hex. */
    public static String fingerprint(X509Certificate certificate) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
        } catch (CertificateEncodingException | java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("cannot fingerprint certificate", e);
        }
    }

    /** Hands a client's leaf certificate to a {@link ClientCertificateCheck}; never trusts a server. */
    private static final class CheckedClients extends OneWayTrustManager {

        private final ClientCertificateCheck check;

        CheckedClients(ClientCertificateCheck check) {
            this.check = check;
        }

        @Override
        void checkFromClient(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) throw new CertificateException("the client sent no certificate");
            check.check(chain[0]);
        }

        @Override
        void checkFromServer(X509Certificate[] chain) throws CertificateException {
            throw new CertificateException("a server certificate is not expected here");
        }
    }

    /** Checks the server's leaf certificate against a pin; never trusts a client certificate. */
    static final class PinningTrustManager extends OneWayTrustManager {

        private static final java.util.Map<SSLContext, PinningTrustManager> BY_CONTEXT =
                java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

        private final ServerTrust trust;
        private volatile String failure;

        PinningTrustManager(ServerTrust trust) {
            this.trust = trust;
        }

        static String failureOf(SSLContext ctx) {
            PinningTrustManager tm = BY_CONTEXT.get(ctx);
            return tm == null ? null : tm.failure;
        }

        void check(X509Certificate[] chain) throws CertificateException {
            if (chain == null || chain.length == 0) {
                throw fail("the server sent no certificate");
            }
            X509Certificate leaf = chain[0];
            leaf.checkValidity();
            String got = fingerprint(leaf);
            switch (trust) {
                case ServerTrust.Pinned p -> {
                    if (!p.fingerprint().equals(got)) {
                        throw fail("server certificate sha256:" + got + " is not the pinned sha256:" + p.fingerprint());
                    }
                }
                case ServerTrust.TrustOnFirstUse t -> {
                    String pinned;
                    try {
                        pinned = t.knownServers().pinIfAbsent(t.hostPort(), got);
                    } catch (IOException e) {
                        throw fail("cannot read or update " + t.knownServers().file() + ": " + e.getMessage());
                    }
                    if (!pinned.equals(got)) {
                        throw fail("server certificate of " + t.hostPort() + " changed: pinned sha256:" + pinned
                                + ", got sha256:" + got + " (if the change is expected, delete its line in "
                                + t.knownServers().file() + ")");
                    }
                }
            }
        }

        private CertificateException fail(String why) {
            failure = why;
            return new CertificateException(why);
        }

        @Override
        void checkFromServer(X509Certificate[] chain) throws CertificateException {
            check(chain);
        }

        @Override
        void checkFromClient(X509Certificate[] chain) throws CertificateException {
            throw new CertificateException("client certificates are not accepted by a client");
        }
    }
}
