package io.aether.security;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The identity of a public key: the SHA-256 of its X.509 (SubjectPublicKeyInfo) encoding, in
 * lower-case hex.
 *
 * @param hex 64 lower-case hex digits
 */
public record KeyId(String hex) {

    public KeyId {
        Objects.requireNonNull(hex, "hex");
        if (hex.length() != 64 || !hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            throw new IllegalArgumentException("key id must be 64 lower-case hex digits: '" + hex + "'");
        }
    }

    /** The key id of {@code key}. */
    public static KeyId of(PublicKey key) {
        return new KeyId(HexFormat.of().formatHex(sha256(key.getEncoded())));
    }

    /** The key id of raw 32 bytes (as stored in binary formats). */
    public static KeyId ofBytes(byte[] bytes) {
        if (bytes.length != 32) {
            throw new IllegalArgumentException("key id must be 32 bytes, got " + bytes.length);
        }
        return new KeyId(HexFormat.of().formatHex(bytes));
    }

    /** The 32 raw bytes. */
    public byte[] bytes() {
        return HexFormat.of().parseHex(hex);
    }

    /** The first 16 hex digits, for messages. */
    public String shortHex() {
        return hex.substring(0, 16);
    }

    @Override
    public String toString() {
        return hex;
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }
}
