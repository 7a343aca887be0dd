package io.aether.discovery;

import io.aether.security.KeyId;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One announcement: who sends it (a controller or a node), under which name and key, and on which
 * port its API is reached (the address is the datagram's source).
 *
 * <p>The wire form is fixed-layout and big-endian, at most {@value #MAX_BYTES} bytes so that it
 * never fragments:
 * <pre>
 * magic "AEBN" | version u8 (1) | role u8 (1 controller, 2 node) | flags u8 (0)
 * | sent-at i64 (ms since the epoch) | port u16 (1..65535) | key id (32 bytes, SHA-256)
 * | name length u8 (1..63) | name (ASCII letters, digits, '.', '_', '-', first a letter or digit)
 * </pre>
 */
public record Beacon(Role role, String name, KeyId key, int port, Instant sentAt) {

    public enum Role {
        CONTROLLER(1), NODE(2);

        final int code;

        Role(int code) {
            this.code = code;
        }
    }

    static final int VERSION = 1;
    static final int MAX_NAME = 63;
    /** The largest beacon: the fixed fields and the longest name. */
    public static final int MAX_BYTES = 4 + 3 + 8 + 2 + 32 + 1 + MAX_NAME;
    private static final byte[] MAGIC = {'A', 'E', 'B', 'N'};
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0," + (MAX_NAME - 1) + "}");

    public Beacon {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(sentAt, "sentAt");
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("name: '" + name + "' must be 1 to " + MAX_NAME
                    + " letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port: " + port + " is not 1..65535");
        }
    }

    /** The wire form. */
    public byte[] encode() {
        byte[] nameBytes = name.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(4 + 3 + 8 + 2 + 32 + 1 + nameBytes.length);
        b.put(MAGIC).put((byte) VERSION).put((byte) role.code).put((byte) 0)
                .putLong(sentAt.toEpochMilli()).putShort((short) port).put(key.bytes())
                .put((byte) nameBytes.length).put(nameBytes);
        return b.array();
    }

    /**
     * Reads one beacon, which must fill {@code datagram} exactly.
     *
     * @throws MalformedBeaconException naming the first field that is wrong
     */
    public static Beacon decode(ByteBuffer datagram) throws MalformedBeaconException {
        ByteBuffer b = datagram.slice();
        if (b.remaining() > MAX_BYTES) {
            throw new MalformedBeaconException("datagram: " + b.remaining() + " bytes, a beacon has at most " + MAX_BYTES);
        }
        try {
            byte[] magic = new byte[4];
            b.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new MalformedBeaconException("magic: not an Aether beacon");
            }
            int version = Byte.toUnsignedInt(b.get());
            if (version != VERSION) {
                throw new MalformedBeaconException("version: " + version + " (this build reads " + VERSION + ")");
            }
            int roleCode = Byte.toUnsignedInt(b.get());
            Role role = switch (roleCode) {
                case 1 -> Role.CONTROLLER;
                case 2 -> Role.NODE;
                default -> throw new MalformedBeaconException("role: " + roleCode + " is neither 1 (controller) nor 2 (node)");
            };
            int flags = Byte.toUnsignedInt(b.get());
            if (flags != 0) {
                throw new MalformedBeaconException("flags: " + flags + " (must be 0)");
            }
            long sentAt = b.getLong();
            int port = Short.toUnsignedInt(b.getShort());
            byte[] key = new byte[32];
            b.get(key);
            int nameLength = Byte.toUnsignedInt(b.get());
            if (nameLength < 1 || nameLength > MAX_NAME) {
                throw new MalformedBeaconException("name length: " + nameLength + " is not 1.." + MAX_NAME);
            }
            byte[] name = new byte[nameLength];
            b.get(name);
            if (b.hasRemaining()) {
                throw new MalformedBeaconException("datagram: " + b.remaining() + " bytes after the name");
            }
            try {
                return new Beacon(role, new String(name, StandardCharsets.US_ASCII), KeyId.ofBytes(key), port, Instant.ofEpochMilli(sentAt));
            } catch (IllegalArgumentException e) {
                throw new MalformedBeaconException(e.getMessage());
            }
        } catch (BufferUnderflowException e) {
            throw new MalformedBeaconException("datagram: " + datagram.remaining() + " bytes end inside the beacon");
        }
    }
}
