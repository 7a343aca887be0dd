package io.aether.http;

import io.aether.security.BrowserCredentials;
import io.aether.security.ServerCredentials;
import io.aether.security.Tls;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * The security module's post-quantum TLS ({@link Tls}: TLS 1.3, X25519MLKEM768, ML-DSA-65, and
 * for mutual TLS its client-certificate pins) on Jetty: Jetty's engine parameters narrowed to
 * Aether's protocol, group and signature scheme.
 */
final class PqTls {

    private PqTls() {
    }

    /** The Jetty side of a browser listener: the security module's browser TLS, no client certificates. */
    static SslContextFactory.Server browser(BrowserCredentials credentials) {
        SSLContext context = Tls.browserServerContext(credentials);
        SslContextFactory.Server factory = new SslContextFactory.Server() {
            @Override
            public SSLParameters customize(SSLParameters jettyDefaults) {
                SSLParameters p = narrowed(super.customize(jettyDefaults), Tls.browserParameters(context));
                p.setNeedClientAuth(false);
                return p;
            }

            @Override
            public void customize(SSLEngine engine) {
                super.customize(engine);
                Tls.preferOwnGroups(engine);
            }
        };
        factory.setSslContext(context);
        return factory;
    }

    /** The Jetty side of a TLS listener. */
    static SslContextFactory.Server jetty(ServerCredentials credentials, Listener.ClientAuth clientAuth) {
        SSLContext context = switch (clientAuth) {
            case Listener.ClientAuth.None none -> Tls.serverContext(credentials);
            case Listener.ClientAuth.Pinned pinned -> Tls.mutualServerContext(credentials, pinned.fingerprints());
            case Listener.ClientAuth.Checked checked -> Tls.checkedClientsServerContext(credentials, checked.check());
        };
        boolean optional = clientAuth instanceof Listener.ClientAuth.Checked;
        boolean mutual = clientAuth instanceof Listener.ClientAuth.Pinned;
        SslContextFactory.Server factory = new SslContextFactory.Server() {
            @Override
            public SSLParameters customize(SSLParameters jettyDefaults) {
                SSLParameters p = narrowed(super.customize(jettyDefaults), Tls.parameters(context));
                p.setEndpointIdentificationAlgorithm(null);
                if (optional) p.setWantClientAuth(true);
                else p.setNeedClientAuth(mutual);
                return p;
            }
        };
        factory.setSslContext(context);
        factory.setEndpointIdentificationAlgorithm(null);
        if (optional) factory.setWantClientAuth(true);
        else factory.setNeedClientAuth(mutual);
        return factory;
    }

    /** Jetty's choices (cipher suites, SNI) in {@code jetty}, then nothing but {@code wanted}'s protocols, groups and schemes. */
    private static SSLParameters narrowed(SSLParameters jetty, SSLParameters wanted) {
        jetty.setProtocols(wanted.getProtocols());
        jetty.setNamedGroups(wanted.getNamedGroups());
        jetty.setSignatureSchemes(wanted.getSignatureSchemes());
        return jetty;
    }
}
