package io.aether.security;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.Objects;

/**
 * A signing identity: an ML-DSA-65 key pair (FIPS 204) from the JDK's own provider.
 *
 * <p>The private key never leaves this object except through {@link #save}.
 */
public final class Identity {

    private final PrivateKey privateKey;
    private final PublicKey publicKey;
    private final KeyId keyId;

    private Identity(PrivateKey privateKey, PublicKey publicKey) {
        this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
        this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
        this.keyId = KeyId.of(publicKey);
    }

    /** A fresh ML-DSA-65 key pair. */
    public static Identity generate() {
        try {
            KeyPair kp = KeyPairGenerator.getInstance(KeyFiles.ALGORITHM).generateKeyPair();
            return new Identity(kp.getPrivate(), kp.getPublic());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(KeyFiles.ALGORITHM + " is part of JDK 25", e);
        }
    }

    /** Loads the key pair from its PEM files and checks that the two halves belong together. */
    public static Identity load(Path privateFile, Path publicFile) throws IOException {
        Identity id = new Identity(KeyFiles.readPrivate(privateFile), KeyFiles.readPublic(publicFile));
        byte[] probe = "aether key pair check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        if (!Signatures.verify(id.publicKey, probe, id.sign(probe))) {
            throw new IOException(publicFile + " is not the public half of " + privateFile);
        }
        return id;
    }

    /** Loads the user's identity from {@code home}; the message says how to create one if absent. */
    public static Identity load(AetherHome home) throws IOException {
        if (!Files.exists(home.privateKeyFile())) {
            throw new IOException("no signing key at " + home.privateKeyFile() + "; create one with 'aether model keygen'");
        }
        return load(home.privateKeyFile(), home.publicKeyFile());
    }

    /** Writes the private key (0600, never overwriting) and the public key. */
    public void save(Path privateFile, Path publicFile) throws IOException {
        KeyFiles.writePrivate(privateFile, privateKey);
        KeyFiles.writePublic(publicFile, publicKey);
    }

    /** The key id (SHA-256 of the encoded public key). */
    public KeyId keyId() {
        return keyId;
    }

    public PublicKey publicKey() {
        return publicKey;
    }

    /** An ML-DSA-65 signature (3309 bytes) over {@code data}. */
    public byte[] sign(byte[] data) {
        try {
            Signature s = Signature.getInstance(KeyFiles.ALGORITHM);
            s.initSign(privateKey);
            s.update(data);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ML-DSA-65 signing failed", e);
        }
    }

    @Override
    public String toString() {
        return "Identity[" + keyId.shortHex() + "]";
    }
}
