package io.aether.arch.acpi;

import java.nio.charset.StandardCharsets;

/**
 * System Description Table framing (ACPI 6.5 section 5.2.6): the 36-byte header with the table's
 * signature, length and checksum, and the checksum rule every ACPI structure follows (all bytes,
 * the checksum included, sum to zero modulo 256).
 */
public final class Sdt {

    /** Size of the common table header. */
    public static final int HEADER_SIZE = 36;
    /** Offset of the checksum byte in the header. */
    public static final int CHECKSUM_OFFSET = 9;

    private Sdt() {
    }

    /** Who made a table: the header's OEM and creator fields. */
    public record Oem(String oemId, String oemTableId, int oemRevision, String creatorId, int creatorRevision) {
        public Oem {
            checkAscii("OEM ID", oemId, 6);
            checkAscii("OEM table ID", oemTableId, 8);
            checkAscii("creator ID", creatorId, 4);
        }
    }

    /**
     * A complete table: header (signature, length, revision, checksum, OEM fields) then
     * {@code body}, with the checksum computed.
     */
    public static byte[] table(String signature, int revision, Oem oem, byte[] body) {
        checkAscii("table signature", signature, 4);
        if (signature.length() != 4) throw new IllegalArgumentException("table signature '" + signature + "' is not 4 characters");
        if (revision < 0 || revision > 0xFF) throw new IllegalArgumentException("table revision " + revision + " does not fit a byte");
        byte[] t = new byte[HEADER_SIZE + body.length];
        putAscii(t, 0, signature, 4);
        putU32(t, 4, t.length);
        t[8] = (byte) revision;
        putAscii(t, 10, oem.oemId(), 6);
        putAscii(t, 16, oem.oemTableId(), 8);
        putU32(t, 24, oem.oemRevision());
        putAscii(t, 28, oem.creatorId(), 4);
        putU32(t, 32, oem.creatorRevision());
        System.arraycopy(body, 0, t, HEADER_SIZE, body.length);
        t[CHECKSUM_OFFSET] = checksum(t, 0, t.length);
        return t;
    }

    /** The byte that makes {@code bytes[from, to)} sum to zero, given that it currently holds 0 there. */
    public static byte checksum(byte[] bytes, int from, int to) {
        return (byte) -sum(bytes, from, to);
    }

    /** The sum of {@code bytes[from, to)} modulo 256. */
    public static int sum(byte[] bytes, int from, int to) {
        int s = 0;
        for (int i = from; i < to; i++) s += bytes[i];
        return s & 0xFF;
    }

    /** Writes {@code text} into {@code length} bytes, padded with spaces. */
    static void putAscii(byte[] out, int at, String text, int length) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < length; i++) out[at + i] = i < b.length ? b[i] : (byte) ' ';
    }

    static void putU32(byte[] out, int at, long value) {
        for (int i = 0; i < 4; i++) out[at + i] = (byte) (value >>> (8 * i));
    }

    private static void checkAscii(String what, String text, int max) {
        if (text.length() > max) throw new IllegalArgumentException(what + " '" + text + "' is longer than " + max + " characters");
        for (char c : text.toCharArray()) {
            if (c < 0x20 || c > 0x7E) throw new IllegalArgumentException(what + " '" + text + "' is not printable ASCII");
        }
    }
}
