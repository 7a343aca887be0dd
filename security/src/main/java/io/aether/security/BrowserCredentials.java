package io.aether.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The key and self-signed certificate of a listener browsers connect to: ECDSA P-256, because no
 * browser verifies an ML-DSA certificate yet (the key exchange stays post-quantum, see
 * {@link Tls#browserServerContext}). The certificate names no host a public CA vouches for: the
 * operator trusts it by its SHA-256 SPKI pin ({@link #spkiSha256Base64}), which Chromium takes as
 * {@code --ignore-certificate-errors-spki-list}, or by its fingerprint.
 *
 * @param privateKey  the P-256 private key (a BouncyCastle key object, as BC's TLS stack expects)
 * @param certificate the self-signed certificate of its public key
 */
public record BrowserCredentials(PrivateKey privateKey, X509Certificate certificate) {

    static final String KEY_FILE = "dashboard.key";
    static final String CERT_FILE = "dashboard.crt";
    private static final String SIGNATURE = "SHA256withECDSA";
    /** Browsers refuse a server certificate valid for more than 398 days. */
    static final Duration VALIDITY = Duration.ofDays(397);

    public BrowserCredentials {
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(certificate, "certificate");
    }

    /** A fresh P-256 key and a certificate for {@code commonName}, also naming {@code localhost} and 127.0.0.1. */
    public static BrowserCredentials generate(String commonName) {
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", Tls.BC);
            kpg.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
            KeyPair kp = kpg.generateKeyPair();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=" + commonName.replaceAll("[,=+<>#;\"\\\\]", "_"));
            var builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(VALIDITY)), name, kp.getPublic());
            builder.addExtension(org.bouncycastle.asn1.x509.Extension.subjectAlternativeName, false, new org.bouncycastle.asn1.x509.GeneralNames(
                    new org.bouncycastle.asn1.x509.GeneralName[] {
                        new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.dNSName, "localhost"),
                        new org.bouncycastle.asn1.x509.GeneralName(org.bouncycastle.asn1.x509.GeneralName.iPAddress, "127.0.0.1")}));
            var signer = new JcaContentSignerBuilder(SIGNATURE).setProvider(Tls.BC).build(kp.getPrivate());
            X509Certificate cert = new JcaX509CertificateConverter().setProvider(Tls.BC).getCertificate(builder.build(signer));
            return new BrowserCredentials(kp.getPrivate(), cert);
        } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
            throw new IllegalStateException("cannot generate an ECDSA P-256 certificate for browsers", e);
        }
    }

    /**
     * The credentials in {@code dir} ({@code dashboard.key}, mode 0600, and {@code dashboard.crt},
     * each written atomically); made and stored there first if either is absent. A certificate
     * that has expired is replaced (its operator then pins the new one the controller prints).
     */
    public static BrowserCredentials loadOrCreate(Path dir, String commonName) throws IOException {
        Path keyFile = dir.resolve(KEY_FILE);
        Path certFile = dir.resolve(CERT_FILE);
        if (Files.exists(keyFile) && Files.exists(certFile)) {
            BrowserCredentials stored = load(keyFile, certFile);
            if (stored.certificate.getNotAfter().toInstant().isAfter(Instant.now())) return stored;
        }
        BrowserCredentials made = generate(commonName);
        Files.createDirectories(dir);
        Files.deleteIfExists(keyFile);
        KeyFiles.writeAtomically(keyFile, Pem.encode("PRIVATE KEY", made.privateKey.getEncoded()), true);
        try {
            KeyFiles.writeAtomically(certFile, Pem.encode("CERTIFICATE", made.certificate.getEncoded()), false);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("certificate cannot be encoded", e);
        }
        return made;
    }

    /** A P-256 private key ({@code PRIVATE KEY} PEM) and a certificate of its public half; refused if the certificate is of another key. */
    static BrowserCredentials load(Path keyFile, Path certFile) throws IOException {
        PrivateKey key;
        try {
            key = KeyFactory.getInstance("EC", Tls.BC).generatePrivate(new PKCS8EncodedKeySpec(Pem.decode("PRIVATE KEY", Files.readAllBytes(keyFile), keyFile.toString())));
        } catch (GeneralSecurityException e) {
            throw new IOException(keyFile + ": not an EC private key (" + e.getMessage() + ")", e);
        }
        X509Certificate certificate;
        try {
            certificate = (X509Certificate) CertificateFactory.getInstance("X.509", Tls.BC)
                    .generateCertificate(new ByteArrayInputStream(Pem.decode("CERTIFICATE", Files.readAllBytes(certFile), certFile.toString())));
        } catch (GeneralSecurityException e) {
            throw new IOException(certFile + ": not an X.509 certificate (" + e.getMessage() + ")", e);
        }
        byte[] probe = "aether certificate key check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature sign = Signature.getInstance(SIGNATURE, Tls.BC);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(SIGNATURE, Tls.BC);
            verify.initVerify(certificate.getPublicKey());
            verify.update(probe);
            if (!verify.verify(signature)) throw new IOException(certFile + " is not a certificate of the key in " + keyFile);
        } catch (GeneralSecurityException e) {
            throw new IOException(keyFile + ": cannot sign with it or check " + certFile + " (" + e.getMessage() + ")", e);
        }
        return new BrowserCredentials(key, certificate);
    }

    /** The SHA-256 of the certificate (DER), lower-case hex. */
    public String fingerprint() {
        return Tls.fingerprint(certificate);
    }

    /** The SHA-256 of the certificate's SubjectPublicKeyInfo, base64: the pin Chromium's {@code --ignore-certificate-errors-spki-list} takes. */
    public String spkiSha256Base64() {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(certificate.getPublicKey().getEncoded()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
