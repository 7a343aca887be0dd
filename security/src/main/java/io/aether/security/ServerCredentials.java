package io.aether.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A TLS server's private key and self-signed certificate, both ML-DSA-65.
 *
 * <p>The keys come from BouncyCastle's provider, not the JDK's: BC's TLS stack signs the handshake
 * with its own ML-DSA implementation and does not accept the JDK's key objects. Clients do not
 * validate a CA chain: they pin the certificate ({@link ServerTrust}).
 *
 * @param privateKey  the ML-DSA-65 private key (a BouncyCastle key object)
 * @param certificate the self-signed X.509 certificate of the matching public key
 */
public record ServerCredentials(PrivateKey privateKey, X509Certificate certificate) {

    private static final String KEY_FILE = "server.key";
    private static final String CERT_FILE = "server.crt";

    public ServerCredentials {
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(certificate, "certificate");
    }

    /** A fresh key pair and a certificate for {@code commonName}, valid for ten years. */
    public static ServerCredentials generate(String commonName) {
        try {
            KeyPairGenerator kpg = KeyPairGenerator.getInstance(KeyFiles.ALGORITHM, Tls.BC);
            KeyPair kp = kpg.generateKeyPair();
            Instant now = Instant.now();
            X500Name name = new X500Name("CN=" + commonName.replaceAll("[,=+<>#;\"\\\\]", "_"));
            var builder = new JcaX509v3CertificateBuilder(name, new BigInteger(64, new SecureRandom()).abs().add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofMinutes(5))), Date.from(now.plus(Duration.ofDays(3650))), name, kp.getPublic());
            var signer = new JcaContentSignerBuilder(KeyFiles.ALGORITHM).setProvider(Tls.BC).build(kp.getPrivate());
            X509Certificate cert = new JcaX509CertificateConverter().setProvider(Tls.BC).getCertificate(builder.build(signer));
            return new ServerCredentials(kp.getPrivate(), cert);
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new IllegalStateException("cannot generate an ML-DSA-65 server certificate", e);
        }
    }

    /**
     * The credentials stored in {@code dir} ({@code server.key}, mode 0600, and {@code server.crt});
     * generated and stored there first if absent.
     */
    public static ServerCredentials loadOrCreate(Path dir, String commonName) throws IOException {
        return loadOrCreate(dir.resolve(KEY_FILE), dir.resolve(CERT_FILE), () -> generate(commonName));
    }

    /** The key and certificate in these files; made by {@code fresh} and stored there first if either is absent. */
    static ServerCredentials loadOrCreate(Path keyFile, Path certFile, java.util.function.Supplier<ServerCredentials> fresh) throws IOException {
        if (!Files.exists(keyFile) || !Files.exists(certFile)) {
            ServerCredentials made = fresh.get();
            Files.createDirectories(keyFile.toAbsolutePath().getParent());
            Files.deleteIfExists(keyFile);
            KeyFiles.writeAtomically(keyFile, Pem.encode("PRIVATE KEY", made.privateKey.getEncoded()), true);
            KeyFiles.writeAtomically(certFile, made.certificatePem(), false);
            return made;
        }
        return load(keyFile, certFile);
    }

    /**
     * An ML-DSA-65 private key ({@code PRIVATE KEY} PEM, as {@link Identity#save} and this class
     * write it) with a certificate of its public half (for example a node certificate issued by a
     * controller); refused if the certificate is of another key.
     */
    public static ServerCredentials load(Path keyFile, Path certFile) throws IOException {
        byte[] keyDer = Pem.decode("PRIVATE KEY", Files.readAllBytes(keyFile), keyFile.toString());
        PrivateKey key;
        try {
            key = KeyFactory.getInstance(KeyFiles.ALGORITHM, Tls.BC).generatePrivate(new PKCS8EncodedKeySpec(keyDer));
        } catch (GeneralSecurityException e) {
            throw new IOException(keyFile + ": not an ML-DSA-65 private key (" + e.getMessage() + ")", e);
        }
        X509Certificate certificate = readCertificate(certFile);
        byte[] probe = "aether certificate key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        try {
            java.security.Signature s = java.security.Signature.getInstance(KeyFiles.ALGORITHM, Tls.BC);
            s.initSign(key);
            s.update(probe);
            if (!Signatures.verify(certificate.getPublicKey(), probe, s.sign())) {
                throw new IOException(certFile + " is not a certificate of the key in " + keyFile);
            }
        } catch (GeneralSecurityException e) {
            throw new IOException(keyFile + ": cannot sign with it (" + e.getMessage() + ")", e);
        }
        return new ServerCredentials(key, certificate);
    }

    /** Reads a PEM certificate (for pinning it explicitly). */
    static X509Certificate readCertificate(Path file) throws IOException {
        byte[] der = Pem.decode("CERTIFICATE", Files.readAllBytes(file), file.toString());
        try {
            // BC's factory, so that the public key is a BC object as BC's TLS stack expects.
            return (X509Certificate) CertificateFactory.getInstance("X.509", Tls.BC).generateCertificate(new ByteArrayInputStream(der));
        } catch (GeneralSecurityException e) {
            throw new IOException(file + ": not an X.509 certificate (" + e.getMessage() + ")", e);
        }
    }

    /** The certificate as PEM text. */
    byte[] certificatePem() {
        try {
            return Pem.encode("CERTIFICATE", certificate.getEncoded());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("certificate cannot be encoded", e);
        }
    }

    /** The SHA-256 fingerprint of the certificate, lower-case hex. */
    public String fingerprint() {
        return Tls.fingerprint(certificate);
    }
}
