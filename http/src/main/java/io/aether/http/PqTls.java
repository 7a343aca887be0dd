package io.aether.http;

import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import io.aether.security.Tls;
import java.io.IOException;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Set;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.jsse.provider.BouncyCastleJsseProvider;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The security module's post-quantum TLS ({@link Tls}: TLS 1.3, X25519MLKEM768, ML-DSA-65) on
 * Jetty, plus what mutual TLS adds: a server that pins client certificates and a client that
 * presents one. The security module's contexts have neither a client trust manager nor a client
 * key manager, so the mutual ones are built here the same way, from BouncyCastle's JSSE.
 */
final class PqTls {

    private static final Provider BC = new BouncyCastleProvider();
    private static final Provider JSSE = new BouncyCastleJsseProvider(BC);

    private PqTls() {
    }

    /** The Jetty side of a TLS listener. */
    static SslContextFactory.Server jetty(ServerCredentials credentials, Listener.ClientAuth clientAuth) {
        SSLContext context = switch (clientAuth) {
            case Listener.ClientAuth.None none -> Tls.serverContext(credentials);
            case Listener.ClientAuth.Pinned pinned -> context(credentials, new Pins(pinned.fingerprints(), true));
        };
        boolean mutual = clientAuth instanceof Listener.ClientAuth.Pinned;
        SslContextFactory.Server factory = new SslContextFactory.Server() {
            @Override
            public SSLParameters customize(SSLParameters jettyDefaults) {
                // Jetty's choices (cipher suites, SNI) first, then nothing but Aether's protocol, group and scheme.
                SSLParameters p = super.customize(jettyDefaults);
                SSLParameters aether = Tls.parameters(context);
                p.setProtocols(aether.getProtocols());
                p.setNamedGroups(aether.getNamedGroups());
                p.setSignatureSchemes(aether.getSignatureSchemes());
                p.setEndpointIdentificationAlgorithm(null);
                p.setNeedClientAuth(mutual);
                return p;
            }
        };
        factory.setSslContext(context);
        factory.setEndpointIdentificationAlgorithm(null);
        factory.setNeedClientAuth(mutual);
        return factory;
    }

    /** A client context presenting {@code certificate} to a server whose certificate is {@code server}. */
    static SSLContext mutualClient(ServerTrust.Pinned server, ServerCredentials certificate) {
        return context(certificate, new Pins(Set.of(server.fingerprint()), false));
    }

    private static SSLContext context(ServerCredentials own, Pins peers) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12", BC);
            ks.load(null, null);
            char[] none = new char[0];
            ks.setKeyEntry("own", own.privateKey(), none, new Certificate[] {own.certificate()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", JSSE);
            kmf.init(ks, none);
            SSLContext ctx = SSLContext.getInstance(Tls.PROTOCOL, JSSE);
            ctx.init(kmf.getKeyManagers(), new TrustManager[] {peers}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a mutual TLS context", e);
        }
    }

    /**
     * Accepts exactly the peer certificates with these fingerprints (no CA chain: Aether's
     * certificates are self-signed and pinned), in one direction only.
     */
    private static final class Pins extends X509ExtendedTrustManager {

        private final Set<String> fingerprints;
        private final boolean peersAreClients;

        Pins(Set<String> fingerprints, boolean peersAreClients) {
            this.fingerprints = Set.copyOf(fingerprints);
            this.peersAreClients = peersAreClients;
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

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, true);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, true);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, true);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain, false);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
            check(chain, false);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
            check(chain, false);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
