package io.aether.snapshot;

import java.nio.ByteBuffer;
import java.util.function.Supplier;

/**
 * Reads one section's fields back. Every read is checked against what is left of the section,
 * and a failure names the section and the field: {@code section serial: field fifo: truncated}.
 */
public final class StateReader {

    private final String section;
    private final ByteBuffer in;

    StateReader(String section, byte[] payload) {
        this.section = section;
        this.in = ByteBuffer.wrap(payload);
    }

    public String section() {
        return section;
    }

    public int u8(String field) throws SnapshotException {
        need(1, field);
        return in.get() & 0xFF;
    }

    public int u16(String field) throws SnapshotException {
        need(2, field);
        return in.getShort() & 0xFFFF;
    }

    public int i32(String field) throws SnapshotException {
        need(4, field);
        return in.getInt();
    }

    public long i64(String field) throws SnapshotException {
        need(8, field);
        return in.getLong();
    }

    public boolean bool(String field) throws SnapshotException {
        int b = u8(field);
        if (b > 1) throw fail(field, "boolean byte " + b + " is not 0 or 1");
        return b == 1;
    }

    /** A length-prefixed byte string of at most {@code max} bytes, checked before it is allocated. */
    public byte[] bytes(String field, int max) throws SnapshotException {
        int length = i32(field);
        if (length < 0 || length > max) throw fail(field, "length " + Integer.toUnsignedString(length) + " is more than " + max);
        need(length, field);
        byte[] value = new byte[length];
        in.get(value);
        return value;
    }

    /** Checks that every byte of the section was read. */
    public void end() throws SnapshotException {
        if (in.hasRemaining()) {
            throw new SnapshotException("section " + section + ": " + in.remaining() + " bytes after the last field");
        }
    }

    /**
     * Builds the component's state from the fields read, turning the refusal of its constructor
     * ({@link IllegalArgumentException}, whose message names the field) into one naming the section.
     */
    public <T> T build(Supplier<T> construct) throws SnapshotException {
        try {
            return construct.get();
        } catch (IllegalArgumentException e) {
            throw new SnapshotException("section " + section + ": " + e.getMessage(), e);
        }
    }

    /** A refusal of {@code field}'s value, for the component's own checks. */
    public SnapshotException fail(String field, String problem) {
        return new SnapshotException("section " + section + ": field " + field + ": " + problem);
    }

    private void need(int length, String field) throws SnapshotException {
        if (in.remaining() < length) throw fail(field, "truncated");
    }
}
