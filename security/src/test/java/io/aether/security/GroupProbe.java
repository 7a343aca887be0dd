package io.aether.security;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Vector;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.SignatureScheme;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;

/**
 * A low-level TLS 1.3 client (BC's protocol API, below JSSE) that offers the groups it is given
 * in that order of preference, sends one request, and reports the group the server chose:
 * what a server's preference does against a client that prefers otherwise.
 */
final class GroupProbe {

    private GroupProbe() {
    }

    /** The negotiated group's code ({@code org.bouncycastle.tls.NamedGroup}) after a request answered with "hello". */
    static int negotiatedGroup(int port, int... groups) throws IOException {
        var crypto = new JcaTlsCryptoProvider().setProvider(Tls.BC).create(new SecureRandom());
        int[] negotiated = {-1};
        DefaultTlsClient client = new DefaultTlsClient(crypto) {
            @Override
            protected ProtocolVersion[] getSupportedVersions() {
                return ProtocolVersion.TLSv13.only();
            }

            @Override
            protected Vector<Integer> getSupportedGroups(@SuppressWarnings("rawtypes") Vector roles) {
                Vector<Integer> v = new Vector<>();
                for (int g : groups) v.add(g);
                return v;
            }

            @Override
            protected Vector<SignatureAndHashAlgorithm> getSupportedSignatureAlgorithms() {
                Vector<SignatureAndHashAlgorithm> v = new Vector<>();
                v.add(SignatureScheme.getSignatureAndHashAlgorithm(SignatureScheme.mldsa65));
                v.add(SignatureScheme.getSignatureAndHashAlgorithm(SignatureScheme.ecdsa_secp256r1_sha256));
                return v;
            }

            @Override
            public TlsAuthentication getAuthentication() {
                return new ServerOnlyTlsAuthentication() {
                    @Override
                    public void notifyServerCertificate(TlsServerCertificate serverCertificate) {
                        // Trust is not the subject here; the pinning tests cover it.
                    }
                };
            }

            @Override
            public void notifyHandshakeComplete() throws IOException {
                super.notifyHandshakeComplete();
                negotiated[0] = context.getSecurityParametersConnection().getNegotiatedGroup();
            }
        };
        try (Socket raw = new Socket("127.0.0.1", port)) {
            raw.setSoTimeout(10_000);
            TlsClientProtocol protocol = new TlsClientProtocol(raw.getInputStream(), raw.getOutputStream());
            protocol.connect(client);
            OutputStream out = protocol.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            StringBuilder reply = new StringBuilder();
            InputStream in = protocol.getInputStream();
            int c;
            while (!reply.toString().endsWith("hello") && (c = in.read()) >= 0) reply.append((char) c);
            if (!reply.toString().endsWith("hello")) throw new IOException("no answer over TLS: " + reply);
        }
        return negotiated[0];
    }
}
