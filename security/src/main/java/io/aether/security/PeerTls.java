package io.aether.security;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyManagementException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * Aether's TLS for a transport that builds its own engines from a JSSE provider named in its
 * configuration (Netty inside Ratis's gRPC, which finds the provider with
 * {@link Security#getProvider(String)}): mutual TLS between peers that present certificate chains
 * and judge each other's whole chain, in both directions alike.
 *
 * <p>The provider {@value #PROVIDER} offers one service, {@code SSLContext.TLS}: BouncyCastle's
 * JSSE (as {@link Tls} uses it) whose every engine starts with {@link Tls#parameters}, so TLS 1.3,
 * X25519MLKEM768 and mldsa65 only. It is registered last, so no code asking for a default context
 * ever gets it.
 */
public final class PeerTls {

    /** The provider's name, for the transport's configuration. */
    public static final String PROVIDER = "AetherPeerTLS";

    private PeerTls() {
    }

    /** A peer's judgement of the chain the other end presented, its leaf first; throwing fails the handshake. */
    @FunctionalInterface
    public interface ChainCheck {
        void check(X509Certificate[] chain) throws CertificateException;
    }

    /** Registers the provider {@value #PROVIDER} once (later calls find it there) and returns its name. */
    public static synchronized String provider() {
        if (Security.getProvider(PROVIDER) == null) Security.addProvider(new RestrictedJsse());
        return PROVIDER;
    }

    /** The key manager that presents {@code chain} (the peer's certificate, then its issuer's) and signs with {@code key}. */
    public static KeyManager keyManager(PrivateKey key, List<X509Certificate> chain) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12", Tls.BC);
            ks.load(null, null);
            char[] none = new char[0];
            ks.setKeyEntry("own", key, none, chain.toArray(Certificate[]::new));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance("PKIX", Tls.JSSE);
            kmf.init(ks, none);
            return kmf.getKeyManagers()[0];
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build a key manager for the peer certificate", e);
        }
    }

    /** A trust manager that lets {@code check} judge the chain from either end, client or server. */
    public static TrustManager trustManager(ChainCheck check) {
        return new OneWayTrustManager() {
            @Override
            void checkFromClient(X509Certificate[] chain) throws CertificateException {
                check.check(chain);
            }

            @Override
            void checkFromServer(X509Certificate[] chain) throws CertificateException {
                check.check(chain);
            }
        };
    }

    /** A context of this provider, for a test or tool that dials a peer with {@link Tls#handshake}. */
    public static SSLContext context(KeyManager keys, TrustManager trust) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS", provider());
            ctx.init(keys == null ? null : new KeyManager[] {keys}, new TrustManager[] {trust}, new SecureRandom());
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot build a peer TLS context", e);
        }
    }

    private static final class RestrictedJsse extends Provider {

        RestrictedJsse() {
            super(PROVIDER, "1.0", "BouncyCastle JSSE restricted to TLS 1.3, X25519MLKEM768 and mldsa65");
            putService(new Service(this, "SSLContext", "TLS", RestrictedContext.class.getName(), List.of(Tls.PROTOCOL), Map.of()) {
                @Override
                public Object newInstance(Object constructorParameter) {
                    return new RestrictedContext();
                }
            });
        }
    }

    /** BC's context, every engine it makes restricted first. */
    private static final class RestrictedContext extends SSLContextSpi {

        private final SSLContext inner;

        RestrictedContext() {
            try {
                inner = SSLContext.getInstance(Tls.PROTOCOL, Tls.JSSE);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("BouncyCastle's JSSE has no TLS 1.3 context", e);
            }
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            inner.init(km, tm, sr);
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return restricted(inner.createSSLEngine());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return restricted(inner.createSSLEngine(host, port));
        }

        private SSLEngine restricted(SSLEngine engine) {
            engine.setSSLParameters(Tls.parameters(inner));
            return engine;
        }

        /* Netty uses engines only; a socket is for Tls.connect and Tls.handshake, which restrict each one themselves. */
        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return inner.getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return inner.getServerSocketFactory();
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return inner.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return inner.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return Tls.parameters(inner);
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return inner.getSupportedSSLParameters();
        }
    }
}
