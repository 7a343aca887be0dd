package io.aether.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.Objects;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority of the fabric: an ML-DSA-65 key and its self-signed CA certificate,
 * which issues ML-DSA-65 client certificates to nodes and clients. Each controller has its own;
 * a certificate is accepted when one of the fabric's authorities issued it ({@link #problem}).
 *
 * <p>Subjects are {@code O=aether, OU=<kind>, CN=<name>}: the kind ({@code node}, or a client's
 * role) and the name are what the controllers authorise a request by.
 */
public final class CertificateAuthority {

    private static final String KEY_FILE = "ca.key";
    private static final String CERT_FILE = "ca.crt";
    /** The CA outlives every certificate it issues. */
    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** Clock skew between the issuing controller and the machine that checks. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);

    /**
     * Who a certificate names.
     *
     * @param unit what it is: {@code node} or a client's role
     * @param name the node's or client's name
     */
    public record Subject(String unit, String name) {
        public Subject {
            Objects.requireNonNull(unit, "unit");
            Objects.requireNonNull(name, "name");
        }
    }

    private final PrivateKey key;
    private final X509Certificate certificate;
    private final SecureRandom random = new SecureRandom();

    private CertificateAuthority(PrivateKey key, X509Certificate certificate) {
        this.key = key;
        this.certificate = certificate;
    }

    /** A fresh CA named {@code name} (for example the controller's id), valid for ten years. */
    public static CertificateAuthority generate(String name) {
        try {
            KeyPair kp = KeyPairGenerator.getInstance(KeyFiles.ALGORITHM, Tls.BC).generateKeyPair();
            X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "aether").addRDN(BCStyle.OU, "ca")
                    .addRDN(BCStyle.CN, name).build();
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new X509v3CertificateBuilder(subject, serial(new SecureRandom()), Date.from(now.minus(BACKDATE)),
                    Date.from(now.plus(CA_VALIDITY)), subject, SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()));
            JcaX509ExtensionUtils ids = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(Extension.subjectKeyIdentifier, false, ids.createSubjectKeyIdentifier(kp.getPublic()));
            return new CertificateAuthority(kp.getPrivate(), sign(builder, kp.getPrivate()));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot generate an ML-DSA-65 certificate authority", e);
        }
    }

    /**
     * The CA kept in {@code dir} ({@code ca.key}, mode 0600, and {@code ca.crt}), generated and
     * stored there first if absent.
     */
    public static CertificateAuthority loadOrCreate(Path dir, String name) throws IOException {
        ServerCredentials kept = ServerCredentials.loadOrCreate(dir.resolve(KEY_FILE), dir.resolve(CERT_FILE), () -> {
            CertificateAuthority fresh = generate(name);
            return new ServerCredentials(fresh.key, fresh.certificate);
        });
        return new CertificateAuthority(kept.privateKey(), kept.certificate());
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * A client certificate for {@code subjectKey} (an ML-DSA-65 public key from any provider),
     * naming {@code subject}, valid from now for {@code validity}: not a CA, for digital signatures
     * and TLS client authentication only.
     */
    public X509Certificate issue(PublicKey subjectKey, Subject subject, Duration validity) {
        return issue(subjectKey, subject, validity, KeyPurposeId.id_kp_clientAuth);
    }

    /**
     * A fresh ML-DSA-65 key and its certificate for a peer that both dials and accepts TLS
     * connections (a controller on the Raft port): as {@link #issue}, for TLS server and client
     * authentication.
     */
    public ServerCredentials issuePeer(Subject subject, Duration validity) {
        try {
            KeyPair kp = KeyPairGenerator.getInstance(KeyFiles.ALGORITHM, Tls.BC).generateKeyPair();
            return new ServerCredentials(kp.getPrivate(), issue(kp.getPublic(), subject, validity, KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot generate an ML-DSA-65 key for " + subject, e);
        }
    }

    private X509Certificate issue(PublicKey subjectKey, Subject subject, Duration validity, KeyPurposeId... purposes) {
        try {
            X500Name name = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.O, "aether").addRDN(BCStyle.OU, subject.unit())
                    .addRDN(BCStyle.CN, subject.name()).build();
            Instant now = Instant.now();
            X509v3CertificateBuilder builder = new X509v3CertificateBuilder(X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                    serial(random), Date.from(now.minus(BACKDATE)), Date.from(now.plus(validity)), name,
                    SubjectPublicKeyInfo.getInstance(subjectKey.getEncoded()));
            JcaX509ExtensionUtils ids = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            builder.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
            builder.addExtension(Extension.authorityKeyIdentifier, false, ids.createAuthorityKeyIdentifier(certificate));
            return sign(builder, key);
        } catch (GeneralSecurityException | CertIOException e) {
            throw new IllegalStateException("cannot issue a certificate for " + subject, e);
        }
    }

    /**
     * Why {@code leaf} is not a certificate one of {@code authorities} issued and valid at
     * {@code now}; empty if it is.
     */
    public static Optional<String> problem(X509Certificate leaf, Collection<X509Certificate> authorities, Instant now) {
        X500Principal issuer = leaf.getIssuerX500Principal();
        X509Certificate ca = authorities.stream().filter(a -> a.getSubjectX500Principal().equals(issuer)).findFirst().orElse(null);
        if (ca == null) return Optional.of("issued by '" + issuer.getName() + "', not a certificate authority of this fabric");
        try {
            // The CA's key as a BouncyCastle object whatever provider parsed the certificate.
            PublicKey caKey = KeyFactory.getInstance(KeyFiles.ALGORITHM, Tls.BC).generatePublic(new X509EncodedKeySpec(ca.getPublicKey().getEncoded()));
            leaf.verify(caKey, Tls.BC);
        } catch (GeneralSecurityException e) {
            return Optional.of("its signature does not verify under the authority '" + issuer.getName() + "' (forged)");
        }
        if (leaf.getBasicConstraints() != -1) return Optional.of("it is a CA certificate, not a client's");
        Date at = Date.from(now);
        try {
            leaf.checkValidity(at);
            ca.checkValidity(at);
        } catch (GeneralSecurityException e) {
            return Optional.of("it is not valid now (" + e.getMessage() + ")");
        }
        return Optional.empty();
    }

    /** The subject's {@code OU} and {@code CN}. */
    public static Subject subject(X509Certificate certificate) {
        X500Name name = X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded());
        return new Subject(first(name, BCStyle.OU), first(name, BCStyle.CN));
    }

    private static String first(X500Name name, ASN1ObjectIdentifier type) {
        RDN[] rdns = name.getRDNs(type);
        return rdns.length == 0 ? "" : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }

    /** {@code certificate} as PEM text. */
    public static String pem(X509Certificate certificate) {
        try {
            return new String(Pem.encode("CERTIFICATE", certificate.getEncoded()), StandardCharsets.US_ASCII);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("certificate cannot be encoded", e);
        }
    }

    /** Reads one PEM certificate; {@code what} names its source in the error. */
    public static X509Certificate parse(String pem, String what) throws IOException {
        try {
            return decode(Pem.decode("CERTIFICATE", pem.getBytes(StandardCharsets.US_ASCII), what), what);
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Reads one DER certificate; {@code what} names its source in the error. */
    public static X509Certificate decode(byte[] der, String what) throws IOException {
        try {
            // BC's factory, so that the public key is a BC object as BC's TLS stack expects.
            return (X509Certificate) CertificateFactory.getInstance("X.509", Tls.BC).generateCertificate(new ByteArrayInputStream(der));
        } catch (GeneralSecurityException | ClassCastException e) {
            throw new IOException(what + ": not an X.509 certificate (" + e.getMessage() + ")", e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey key) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().setProvider(Tls.BC)
                    .getCertificate(builder.build(new JcaContentSignerBuilder(KeyFiles.ALGORITHM).setProvider(Tls.BC).build(key)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException("cannot sign with ML-DSA-65", e);
        }
    }

    private static BigInteger serial(SecureRandom random) {
        return new BigInteger(127, random).add(BigInteger.ONE);
    }
}
