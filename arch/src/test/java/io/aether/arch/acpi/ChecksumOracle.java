package io.aether.arch.acpi;

/**
 * ACPI checksums recomputed for the tests without {@link Sdt}: each byte of the structure added,
 * one at a time, over the length the structure itself declares (ACPI 6.5, 5.2.5.3 and 5.2.6).
 * A table is valid when the result is 0.
 */
public final class ChecksumOracle {

    private ChecksumOracle() {
    }

    /** The sum modulo 256 of a table's bytes, over the length in its header (bytes 4 to 7, little-endian). */
    public static int tableSum(byte[] table) {
        return sumOfFirst(table, unsignedLe32(table, 4));
    }

    /** The sum modulo 256 of an RSDP's first 20 bytes: the ACPI 1.0 checksum. */
    public static int rsdpSum(byte[] rsdp) {
        return sumOfFirst(rsdp, 20);
    }

    /** The sum modulo 256 of an RSDP over the length at its byte 20: the extended checksum. */
    public static int rsdpExtendedSum(byte[] rsdp) {
        return sumOfFirst(rsdp, unsignedLe32(rsdp, 20));
    }

    private static int sumOfFirst(byte[] bytes, long count) {
        if (count > bytes.length) {
            throw new AssertionError("the structure declares " + count + " bytes but has " + bytes.length);
        }
        int total = 0;
        for (int i = 0; i < count; i++) {
            total = (total + Byte.toUnsignedInt(bytes[i])) % 256;
        }
        return total;
    }

    private static long unsignedLe32(byte[] bytes, int at) {
        long value = 0;
        for (int i = 3; i >= 0; i--) {
            value = value * 256 + Byte.toUnsignedInt(bytes[at + i]);
        }
        return value;
    }
}
