package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Mutual TLS's pins, on their own: which peer certificates each direction admits. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PinnedPeersTest {

    private static final ServerCredentials CLIENT = ServerCredentials.generate("fabric");
    private static final ServerCredentials OTHER = ServerCredentials.generate("fabric");

    /** SHA-256 of the DER encoding, computed here rather than with {@link Tls#fingerprint}. */
    private static String sha256(X509Certificate certificate) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    }

    @Test
    void aServerAdmitsExactlyThePinnedClientCertificates() throws Exception {
        PinnedPeers pins = new PinnedPeers(Set.of(sha256(CLIENT.certificate())), true);
        assertDoesNotThrow(() -> pins.checkClientTrusted(new X509Certificate[] {CLIENT.certificate()}, "ML-DSA-65"));
        var e = assertThrows(CertificateException.class,
                () -> pins.checkClientTrusted(new X509Certificate[] {OTHER.certificate()}, "ML-DSA-65"));
        assertEquals("client certificate sha256:" + sha256(OTHER.certificate()) + " is not pinned", e.getMessage());
        e = assertThrows(CertificateException.class, () -> pins.checkClientTrusted(new X509Certificate[0], "ML-DSA-65"));
        assertEquals("the client sent no certificate", e.getMessage());
    }

    @Test
    void pinsAdmitPeersInTheirOwnDirectionOnly() throws Exception {
        X509Certificate[] chain = {CLIENT.certificate()};
        PinnedPeers serverSide = new PinnedPeers(Set.of(sha256(CLIENT.certificate())), true);
        var e = assertThrows(CertificateException.class, () -> serverSide.checkServerTrusted(chain, "ML-DSA-65"));
        assertEquals("a server certificate is not expected here", e.getMessage());
        PinnedPeers clientSide = new PinnedPeers(Set.of(sha256(CLIENT.certificate())), false);
        assertDoesNotThrow(() -> clientSide.checkServerTrusted(chain, "ML-DSA-65"));
        e = assertThrows(CertificateException.class, () -> clientSide.checkClientTrusted(chain, "ML-DSA-65"));
        assertEquals("a client certificate is not expected here", e.getMessage());
    }
}
