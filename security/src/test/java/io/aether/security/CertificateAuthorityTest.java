package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A controller's CA and the node certificates it issues, read back with the JDK's own X.509
 * parser and checked by the JDK's PKIX validator (not by the code that issued them).
 */
@Timeout(60)
class CertificateAuthorityTest {

    @TempDir
    Path dir;

    private static X509Certificate jdk(X509Certificate certificate) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(CertificateAuthority.pem(certificate).getBytes(StandardCharsets.US_ASCII)));
    }

    private static void pkix(X509Certificate leaf, X509Certificate anchor) throws Exception {
        PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(anchor, null)));
        params.setRevocationEnabled(false);
        CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
    }

    @Test
    void anIssuedNodeCertificateValidatesUnderItsCaWithTheJdksPkixValidator() throws Exception {
        CertificateAuthority ca = CertificateAuthority.loadOrCreate(dir.resolve("ca"), "aether-controller-c1");
        Identity node = Identity.generate();
        X509Certificate leaf = jdk(ca.issue(node.publicKey(), new CertificateAuthority.Subject("node", "n1"), Duration.ofDays(365)));
        X509Certificate anchor = jdk(ca.certificate());

        pkix(leaf, anchor);
        assertEquals("CN=n1,OU=node,O=aether", leaf.getSubjectX500Principal().getName());
        assertEquals("CN=aether-controller-c1,OU=ca,O=aether", leaf.getIssuerX500Principal().getName());
        assertEquals("ML-DSA-65", leaf.getSigAlgName());
        assertEquals("2.16.840.1.101.3.4.3.18", leaf.getSigAlgOID(), "id-ml-dsa-65 (FIPS 204, NIST CSOR)");
        assertTrue(java.util.Arrays.equals(node.publicKey().getEncoded(), leaf.getPublicKey().getEncoded()), "the node's own key");
        assertEquals(-1, leaf.getBasicConstraints(), "not a CA");
        assertTrue(leaf.getKeyUsage()[0], "digitalSignature");
        assertEquals(List.of("1.3.6.1.5.5.7.3.2"), leaf.getExtendedKeyUsage(), "id-kp-clientAuth");
        assertTrue(anchor.getBasicConstraints() >= 0 && anchor.getKeyUsage()[5], "the CA is a CA that signs certificates");
        long days = Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant()).toDays();
        assertTrue(days >= 365 && days <= 366, days + " days");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca/ca.key"))));
        assertEquals(java.util.Optional.empty(), CertificateAuthority.problem(leaf, List.of(anchor), Instant.now()));
        assertEquals(new CertificateAuthority.Subject("node", "n1"), CertificateAuthority.subject(leaf));

        // Loaded again from its files, the CA is the same one: what it issued before still validates.
        CertificateAuthority again = CertificateAuthority.loadOrCreate(dir.resolve("ca"), "ignored");
        assertEquals(Tls.fingerprint(ca.certificate()), Tls.fingerprint(again.certificate()));
        pkix(jdk(again.issue(node.publicKey(), new CertificateAuthority.Subject("node", "n2"), Duration.ofDays(1))), anchor);
    }

    @Test
    void selfSignedForeignAndExpiredCertificatesAreRefusedByBothTheJdkAndTheFabricCheck() throws Exception {
        CertificateAuthority ca = CertificateAuthority.generate("aether-controller-c1");
        X509Certificate anchor = jdk(ca.certificate());
        Identity node = Identity.generate();
        CertificateAuthority.Subject n1 = new CertificateAuthority.Subject("node", "n1");

        X509Certificate foreign = jdk(CertificateAuthority.generate("aether-controller-c1").issue(node.publicKey(), n1, Duration.ofDays(1)));
        assertThrows(CertPathValidatorException.class, () -> pkix(foreign, anchor));
        assertTrue(CertificateAuthority.problem(foreign, List.of(anchor), Instant.now()).orElseThrow().contains("does not verify"));

        X509Certificate selfSigned = jdk(CertificateAuthority.generate("n1").issue(node.publicKey(), n1, Duration.ofDays(1)));
        assertThrows(CertPathValidatorException.class, () -> pkix(selfSigned, anchor));
        assertTrue(CertificateAuthority.problem(selfSigned, List.of(anchor), Instant.now()).orElseThrow().contains("not a certificate authority of this fabric"));

        X509Certificate leaf = jdk(ca.issue(node.publicKey(), n1, Duration.ofDays(1)));
        assertTrue(CertificateAuthority.problem(leaf, List.of(anchor), Instant.now().plus(Duration.ofDays(2))).orElseThrow().contains("not valid now"));
        assertTrue(CertificateAuthority.problem(anchor, List.of(anchor), Instant.now()).orElseThrow().contains("CA certificate"));
    }
}
