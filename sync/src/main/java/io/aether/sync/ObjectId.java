package io.aether.sync;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The name of a stored object: the SHA-256 of its canonical encoding, in lower-case hex.
 *
 * @param hex 64 lower-case hex digits
 */
public record ObjectId(String hex) implements Comparable<ObjectId> {

    /** Bytes in a raw id. */
    public static final int LENGTH = 32;

    public ObjectId {
        Objects.requireNonNull(hex, "hex");
        if (!isFullHex(hex)) {
            throw new IllegalArgumentException("object id must be 64 lower-case hex digits: '" + hex + "'");
        }
    }

    /** Parses a full id (upper case accepted). */
    public static ObjectId parse(String hex) {
        return new ObjectId(hex.toLowerCase(java.util.Locale.ROOT));
    }

    /** The id of raw 32 bytes. */
    public static ObjectId ofBytes(byte[] raw, int offset) {
        return new ObjectId(HexFormat.of().formatHex(raw, offset, offset + LENGTH));
    }

    /** The id of an encoded object: SHA-256 of {@code encoded}. */
    static ObjectId hash(byte[] encoded, int offset, int length) {
        MessageDigest md = sha256();
        md.update(encoded, offset, length);
        return new ObjectId(HexFormat.of().formatHex(md.digest()));
    }

    static ObjectId hash(byte[] encoded) {
        return hash(encoded, 0, encoded.length);
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is mandatory in every JDK", e);
        }
    }

    static boolean isFullHex(String s) {
        return s.length() == 64 && isHex(s);
    }

    static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }

    /** The 32 raw bytes. */
    public byte[] bytes() {
        return HexFormat.of().parseHex(hex);
    }

    /** The first 12 hex digits, for display. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    @Override
    public int compareTo(ObjectId o) {
        return hex.compareTo(o.hex);
    }

    @Override
    public String toString() {
        return hex;
    }
}
