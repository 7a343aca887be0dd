package io.aether.common;

import java.util.HexFormat;

/**
 * A 48-bit unicast Ethernet address.
 *
 * @param value the address in the low 48 bits, first octet most significant
 */
public record MacAddress(long value) {

    public MacAddress {
        if ((value & ~0xFFFF_FFFF_FFFFL) != 0) {
            throw new IllegalArgumentException("a MAC address has 48 bits: 0x" + Long.toHexString(value));
        }
        if ((value >>> 40 & 1) != 0) {
            throw new IllegalArgumentException("a guest MAC address must be unicast (first octet even): " + format(value));
        }
    }

    /** Parses {@code 52:54:00:12:34:56} (colons or dashes). */
    public static MacAddress parse(String text) {
        String[] parts = text.strip().split("[:-]");
        if (parts.length != 6) throw new IllegalArgumentException("not a MAC address (expected aa:bb:cc:dd:ee:ff): '" + text + "'");
        long v = 0;
        for (String p : parts) {
            if (p.length() != 2 || !HexFormat.isHexDigit(p.charAt(0)) || !HexFormat.isHexDigit(p.charAt(1))) {
                throw new IllegalArgumentException("not a MAC address (expected aa:bb:cc:dd:ee:ff): '" + text + "'");
            }
            v = v << 8 | HexFormat.fromHexDigits(p);
        }
        return new MacAddress(v);
    }

    /** The six octets in wire order. */
    public byte[] octets() {
        byte[] b = new byte[6];
        for (int i = 0; i < 6; i++) b[i] = (byte) (value >>> (8 * (5 - i)));
        return b;
    }

    @Override
    public String toString() {
        return format(value);
    }

    private static String format(long value) {
        StringBuilder b = new StringBuilder();
        for (int i = 5; i >= 0; i--) {
            b.append(HexFormat.of().toHexDigits((byte) (value >>> (8 * i))));
            if (i > 0) b.append(':');
        }
        return b.toString();
    }
}
