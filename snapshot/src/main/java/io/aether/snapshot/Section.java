package io.aether.snapshot;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One component's state in a state file.
 *
 * @param name the component, e.g. {@code "serial"} or {@code "virtio0.transport"}: 1 to
 *     {@value StateFile#MAX_NAME_LENGTH} characters from {@code [a-z0-9._-]}
 * @param payload the fields, as a {@link StateWriter} wrote them; at most {@value StateFile#MAX_SECTION_BYTES} bytes
 */
public record Section(String name, byte[] payload) {

    public Section {
        checkName(name);
        if (payload.length > StateFile.MAX_SECTION_BYTES) {
            throw new IllegalArgumentException("section " + name + ": " + payload.length + " bytes is more than "
                    + StateFile.MAX_SECTION_BYTES);
        }
        payload = payload.clone();
    }

    @Override
    public byte[] payload() {
        return payload.clone();
    }

    /** A reader of this section's fields. */
    public StateReader reader() {
        return new StateReader(name, payload);
    }

    static void checkName(String name) {
        if (!validName(name)) {
            throw new IllegalArgumentException("section name must be 1 to " + StateFile.MAX_NAME_LENGTH
                    + " characters of [a-z0-9._-]: '" + name + "'");
        }
    }

    static boolean validName(String name) {
        if (name.isEmpty() || name.length() > StateFile.MAX_NAME_LENGTH) return false;
        return name.chars().allMatch(c -> c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-');
    }

    /** The payload itself, not a copy: for the encoder, which only reads it. */
    byte[] rawPayload() {
        return payload;
    }

    byte[] nameBytes() {
        return name.getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Section s && s.name.equals(name) && Arrays.equals(s.payload, payload);
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(payload);
    }

    @Override
    public String toString() {
        return "Section[" + name + ", " + payload.length + " bytes]";
    }
}
