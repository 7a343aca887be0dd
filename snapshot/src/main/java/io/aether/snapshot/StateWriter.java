package io.aether.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Writes one component's fields, big-endian, in the order its {@link StateReader} reads them back. */
public final class StateWriter {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);

    public StateWriter u8(int value) {
        return write(() -> out.writeByte(value));
    }

    public StateWriter u16(int value) {
        return write(() -> out.writeShort(value));
    }

    public StateWriter i32(int value) {
        return write(() -> out.writeInt(value));
    }

    public StateWriter i64(long value) {
        return write(() -> out.writeLong(value));
    }

    public StateWriter bool(boolean value) {
        return write(() -> out.writeByte(value ? 1 : 0));
    }

    /** A length (u32) and the bytes. */
    public StateWriter bytes(byte[] value) {
        return write(() -> {
            out.writeInt(value.length);
            out.write(value);
        });
    }

    /** The fields written so far as a section named {@code name}. */
    public Section toSection(String name) {
        return new Section(name, bytes.toByteArray());
    }

    private interface Write {
        void run() throws IOException;
    }

    private StateWriter write(Write w) {
        try {
            w.run();
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return this;
    }
}
