package io.aether.snapshot;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * The state file of a snapshot: the device and machine state, one section per component (guest
 * memory is a file of its own). All numbers are big-endian:
 * <pre>
 *   magic          8 bytes  "AETHSTAT"
 *   format version u32      {@value #FORMAT_VERSION}
 *   section count  u32      at most {@value #MAX_SECTIONS}
 *   each section:
 *     name length  u8       1 to {@value #MAX_NAME_LENGTH}
 *     name         ASCII    [a-z0-9._-], unique in the file
 *     length       u32      at most {@value #MAX_SECTION_BYTES}
 *     payload      length bytes
 *     checksum     u32      CRC32C of the payload
 *   checksum       u32      CRC32C of every byte before it
 * </pre>
 * The per-section checksum lets a refusal name the damaged section; the last one covers the
 * header and the section list too. A reader accepts only its own format version: a state file
 * from another version is refused, not guessed at.
 */
public final class StateFile {

    /** The file's first 8 bytes. */
    public static final String MAGIC = "AETHSTAT";
    /** The format version this build writes and reads. */
    public static final int FORMAT_VERSION = 1;
    public static final int MAX_SECTIONS = 4096;
    public static final int MAX_NAME_LENGTH = 64;
    public static final int MAX_SECTION_BYTES = 16 << 20;
    /** The largest state file read: device state is small, guest memory is elsewhere. */
    public static final long MAX_FILE_BYTES = 64L << 20;

    private static final byte[] MAGIC_BYTES = MAGIC.getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = 16;

    private StateFile() {
    }

    /** The file's bytes for these sections, in this order. */
    public static byte[] encode(List<Section> sections) {
        if (sections.size() > MAX_SECTIONS) {
            throw new IllegalArgumentException(sections.size() + " sections is more than " + MAX_SECTIONS);
        }
        long total = HEADER_BYTES + 4;
        Set<String> names = new HashSet<>();
        for (Section s : sections) {
            if (!names.add(s.name())) throw new IllegalArgumentException("section " + s.name() + " appears twice");
            total += 1 + s.name().length() + 4 + s.rawPayload().length + 4;
        }
        if (total > MAX_FILE_BYTES) throw new IllegalArgumentException("state of " + total + " bytes is more than " + MAX_FILE_BYTES);
        ByteBuffer out = ByteBuffer.allocate((int) total);
        out.put(MAGIC_BYTES).putInt(FORMAT_VERSION).putInt(sections.size());
        for (Section s : sections) {
            byte[] name = s.nameBytes();
            byte[] payload = s.rawPayload();
            out.put((byte) name.length).put(name).putInt(payload.length).put(payload).putInt(crc(payload, 0, payload.length));
        }
        out.putInt(crc(out.array(), 0, out.position()));
        return out.array();
    }

    /**
     * Reads a state file's bytes.
     *
     * @throws SnapshotException if they are truncated, corrupt or of another format version; the
     *     message names the section where there is one
     */
    public static List<Section> decode(byte[] file) throws SnapshotException {
        Cursor in = new Cursor(file);
        if (file.length < MAGIC_BYTES.length) throw new SnapshotException("truncated: " + file.length + " bytes is no state file header");
        if (!Arrays.equals(file, 0, MAGIC_BYTES.length, MAGIC_BYTES, 0, MAGIC_BYTES.length)) {
            throw new SnapshotException("not an Aether state file (bad magic)");
        }
        in.position = MAGIC_BYTES.length;
        long version = in.u32("the header");
        if (version != FORMAT_VERSION) {
            throw new SnapshotException("format version " + version + " is not supported (this build reads version "
                    + FORMAT_VERSION + ")");
        }
        long count = in.u32("the header");
        if (count > MAX_SECTIONS) throw new SnapshotException("section count " + count + " is more than " + MAX_SECTIONS);
        List<Section> sections = new ArrayList<>((int) count);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < count; i++) {
            String where = "section #" + i;
            int nameLength = in.u8(where);
            if (nameLength < 1 || nameLength > MAX_NAME_LENGTH) {
                throw new SnapshotException(where + ": name length " + nameLength + " is not 1.." + MAX_NAME_LENGTH);
            }
            in.need(nameLength, where);
            String name = new String(file, in.position, nameLength, StandardCharsets.ISO_8859_1);
            in.position += nameLength;
            if (!Section.validName(name)) throw new SnapshotException(where + ": name is not [a-z0-9._-]");
            if (!names.add(name)) throw new SnapshotException("section " + name + " appears twice");
            where = "section " + name;
            long length = in.u32(where);
            if (length > MAX_SECTION_BYTES) {
                throw new SnapshotException(where + ": length " + length + " is more than " + MAX_SECTION_BYTES);
            }
            in.need(length + 4, where);
            int start = in.position;
            in.position += (int) length;
            long stored = in.u32(where);
            if (stored != Integer.toUnsignedLong(crc(file, start, (int) length))) {
                throw new SnapshotException(where + ": checksum mismatch (corrupt)");
            }
            sections.add(new Section(name, Arrays.copyOfRange(file, start, start + (int) length)));
        }
        int end = in.position;
        long stored = in.u32("the file checksum");
        if (in.position != file.length) throw new SnapshotException((file.length - in.position) + " bytes after the file checksum");
        if (stored != Integer.toUnsignedLong(crc(file, 0, end))) {
            throw new SnapshotException("file checksum mismatch (corrupt header or section list)");
        }
        return List.copyOf(sections);
    }

    /** Writes the file's bytes to a stream. */
    public static void write(OutputStream out, List<Section> sections) throws IOException {
        out.write(encode(sections));
    }

    /**
     * Reads a state file from a stream, at most {@link #MAX_FILE_BYTES} bytes of it.
     *
     * @throws SnapshotException if it is longer, or not a valid state file
     */
    public static List<Section> read(InputStream in) throws IOException {
        byte[] file = in.readNBytes((int) MAX_FILE_BYTES + 1);
        if (file.length > MAX_FILE_BYTES) throw new SnapshotException("state file is longer than " + MAX_FILE_BYTES + " bytes");
        return decode(file);
    }

    /**
     * Writes a state file atomically: a temporary file beside it, written and synced, renamed over
     * {@code path}, and the directory synced; a reader sees the old file or the whole new one.
     */
    public static void write(Path path, List<Section> sections) throws IOException {
        byte[] bytes = encode(sections);
        Path dir = path.toAbsolutePath().getParent();
        Path temp = Files.createTempFile(dir, "." + path.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) ch.write(buffer);
                ch.force(true);
            }
            try {
                Files.move(temp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException(path + ": the file system cannot replace a file atomically", e);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    /**
     * Reads a state file.
     *
     * @throws SnapshotException naming the file, if it is larger than {@link #MAX_FILE_BYTES} or not a valid state file
     */
    public static List<Section> read(Path path) throws IOException {
        long size = Files.size(path);
        if (size > MAX_FILE_BYTES) throw new SnapshotException(path + ": " + size + " bytes is more than " + MAX_FILE_BYTES);
        try (InputStream in = Files.newInputStream(path)) {
            return read(in);
        } catch (SnapshotException e) {
            throw new SnapshotException(path + ": " + e.getMessage(), e);
        }
    }

    private static int crc(byte[] bytes, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, offset, length);
        return (int) crc.getValue();
    }

    /** A position in the file, every read checked against what is left. */
    private static final class Cursor {
        private final byte[] bytes;
        private int position;

        Cursor(byte[] bytes) {
            this.bytes = bytes;
        }

        void need(long length, String where) throws SnapshotException {
            if (length > bytes.length - position) {
                throw new SnapshotException("truncated in " + where + " (needs " + length + " bytes at offset " + position
                        + ", the file has " + (bytes.length - position) + " more)");
            }
        }

        int u8(String where) throws SnapshotException {
            need(1, where);
            return bytes[position++] & 0xFF;
        }

        long u32(String where) throws SnapshotException {
            need(4, where);
            long v = Integer.toUnsignedLong(ByteBuffer.wrap(bytes, position, 4).getInt());
            position += 4;
            return v;
        }
    }
}
