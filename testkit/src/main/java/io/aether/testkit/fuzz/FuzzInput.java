package io.aether.testkit.fuzz;

import java.util.Arrays;

/**
 * One input of a fuzz target, read front to back as the values the target needs. Reading past
 * the end yields zeros (and the smallest value of a range), so every byte string is a valid input
 * and a mutation changes only the values whose bytes it touched.
 */
public final class FuzzInput {

    private final byte[] data;
    private int position;

    public FuzzInput(byte[] data) {
        this.data = data.clone();
    }

    /** The whole input, as the fuzzer made it. */
    public byte[] data() {
        return data.clone();
    }

    /** Bytes not yet read. */
    public int remaining() {
        return data.length - position;
    }

    private int nextByte() {
        return position < data.length ? data[position++] & 0xFF : 0;
    }

    public boolean consumeBoolean() {
        return (nextByte() & 1) != 0;
    }

    /** An unsigned byte. */
    public int consumeU8() {
        return nextByte();
    }

    /** An unsigned 16-bit little-endian value, as guest structures hold them. */
    public int consumeU16() {
        return nextByte() | nextByte() << 8;
    }

    /** A 32-bit little-endian value. */
    public int consumeInt() {
        return consumeU16() | consumeU16() << 16;
    }

    /** A 64-bit little-endian value. */
    public long consumeLong() {
        return Integer.toUnsignedLong(consumeInt()) | (long) consumeInt() << 32;
    }

    /**
     * A value in {@code [min, max]}, read from as few little-endian bytes as the range needs: a
     * range of 256 values or fewer takes one byte.
     */
    public int consumeInt(int min, int max) {
        return (int) consumeLong(min, max);
    }

    /** A value in {@code [min, max]}, read from as few little-endian bytes as the range needs. */
    public long consumeLong(long min, long max) {
        if (min > max) throw new IllegalArgumentException("empty range [" + min + ", " + max + "]");
        long span = max - min; // wraps for the full range; treated as unsigned
        long raw = 0;
        int bytes = span == 0 ? 0 : (64 - Long.numberOfLeadingZeros(span) + 7) / 8;
        for (int i = 0; i < bytes; i++) raw |= (long) nextByte() << (8 * i);
        return span == -1 ? raw : min + Long.remainderUnsigned(raw, span + 1);
    }

    /** One of {@code values}, chosen by one byte. */
    @SafeVarargs
    public final <T> T pick(T... values) {
        return values[consumeInt(0, values.length - 1)];
    }

    /** Exactly {@code n} bytes, zero-padded past the end of the input. */
    public byte[] consumeBytes(int n) {
        byte[] out = new byte[n];
        int available = Math.min(n, remaining());
        System.arraycopy(data, position, out, 0, available);
        position += available;
        return out;
    }

    /** A length-prefixed byte string of at most {@code max} bytes (a 16-bit length, then the bytes there are). */
    public byte[] consumeBytesUpTo(int max) {
        int n = Math.min(consumeInt(0, max), remaining());
        return consumeBytes(n);
    }

    /** The bytes not read yet. */
    public byte[] consumeRemaining() {
        byte[] out = Arrays.copyOfRange(data, position, data.length);
        position = data.length;
        return out;
    }
}
