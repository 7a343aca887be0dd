package io.aether.common;

import java.util.Locale;

/**
 * A size in bytes as users write it: {@code 4096}, {@code 64K}, {@code 256M}, {@code 2G}
 * (binary multiples; an optional trailing {@code B} or {@code iB} is accepted).
 */
public record ByteSize(long bytes) {

    public ByteSize {
        if (bytes < 0) {
            throw new IllegalArgumentException("a size cannot be negative: " + bytes);
        }
    }

    public static ByteSize ofMiB(long mib) {
        return new ByteSize(Math.multiplyExact(mib, 1L << 20));
    }

    /**
     * Parses a size.
     *
     * @throws IllegalArgumentException naming the text when it is not a size
     */
    public static ByteSize parse(String text) {
        String t = text.strip().toUpperCase(Locale.ROOT);
        if (t.endsWith("IB")) {
            t = t.substring(0, t.length() - 2);
        } else if (t.endsWith("B")) {
            t = t.substring(0, t.length() - 1);
        }
        int shift = 0;
        if (!t.isEmpty()) {
            switch (t.charAt(t.length() - 1)) {
                case 'K' -> shift = 10;
                case 'M' -> shift = 20;
                case 'G' -> shift = 30;
                case 'T' -> shift = 40;
                default -> { }
            }
        }
        if (shift != 0) {
            t = t.substring(0, t.length() - 1);
        }
        if (t.isEmpty() || !t.chars().allMatch(Character::isDigit) || t.length() > 18) {
            throw new IllegalArgumentException("not a size: '" + text + "' (expected e.g. 512M, 2G or a number of bytes)");
        }
        long value = Long.parseLong(t);
        if (shift > 0 && value > (Long.MAX_VALUE >> shift)) {
            throw new IllegalArgumentException("size too large: '" + text + "'");
        }
        return new ByteSize(value << shift);
    }

    @Override
    public String toString() {
        if (bytes != 0 && bytes % (1L << 30) == 0) return bytes / (1L << 30) + "G";
        if (bytes != 0 && bytes % (1L << 20) == 0) return bytes / (1L << 20) + "M";
        if (bytes != 0 && bytes % (1L << 10) == 0) return bytes / (1L << 10) + "K";
        return Long.toString(bytes);
    }
}
