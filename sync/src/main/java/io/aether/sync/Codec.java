package io.aether.sync;

import io.aether.security.KeyId;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The canonical binary encodings of stored objects (all integers big-endian). An object's id is
 * the SHA-256 of its encoding, so decoding is strict: exactly one encoding per value, and
 * anything else is a {@link CorruptObjectException}. Formats are described in sync/README.md.
 */
final class Codec {

    /** Domain separation for commit signatures. */
    static final byte[] COMMIT_SIGNING_PREFIX = "aether-commit-v1\0".getBytes(StandardCharsets.US_ASCII);
    /** Larger objects are refused on read and on receipt. */
    static final int MAX_OBJECT_BYTES = 64 << 20;
    static final int MAX_MESSAGE_BYTES = 1 << 20;
    static final int MAX_PARENTS = 16;
    static final int MAX_SIGNATURE_BYTES = 8192;
    /** The most characters of a peer's text a message shows. */
    static final int MAX_SHOWN = 200;

    private Codec() {
    }

    /** A file manifest: the chunks that make up a file, in order (a one-level Merkle list). */
    record Manifest(long size, List<ChunkRef> chunks) {
        Manifest {
            chunks = List.copyOf(chunks);
        }
    }

    /** One chunk of a file. */
    record ChunkRef(ObjectId id, int length) {
    }

    /** A decoded commit with the bytes its signature covers. */
    record SignedCommit(Commit commit, byte[] signedBytes, byte[] signature) {
    }

    static ObjectKind kindOf(ObjectId id, byte[] enc) {
        ObjectKind k = enc.length == 0 ? null : ObjectKind.ofTag(enc[0]);
        if (k == null) {
            throw new CorruptObjectException(id, "object " + id + ": unknown kind tag");
        }
        return k;
    }

    // ---- chunk ----

    static byte[] encodeChunk(byte[] data, int off, int len) {
        byte[] enc = new byte[len + 1];
        enc[0] = (byte) ObjectKind.CHUNK.tag;
        System.arraycopy(data, off, enc, 1, len);
        return enc;
    }

    // ---- file manifest ----

    static byte[] encodeManifest(Manifest m) {
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 4 + m.chunks().size() * (ObjectId.LENGTH + 4));
        b.put((byte) ObjectKind.FILE.tag).putLong(m.size()).putInt(m.chunks().size());
        for (ChunkRef c : m.chunks()) {
            b.put(c.id().bytes()).putInt(c.length());
        }
        return b.array();
    }

    static Manifest decodeManifest(ObjectId id, byte[] enc) {
        expectKind(id, enc, ObjectKind.FILE);
        try {
            ByteBuffer b = ByteBuffer.wrap(enc, 1, enc.length - 1);
            long size = b.getLong();
            int n = b.getInt();
            if (n < 0 || (long) n * (ObjectId.LENGTH + 4) != b.remaining()) {
                throw bad(id, "file manifest length does not match its chunk count");
            }
            List<ChunkRef> chunks = new ArrayList<>(n);
            long sum = 0;
            for (int i = 0; i < n; i++) {
                ObjectId c = readId(b);
                int len = b.getInt();
                if (len <= 0 || len >= MAX_OBJECT_BYTES) {
                    throw bad(id, "chunk " + i + " has length " + len);
                }
                sum += len;
                chunks.add(new ChunkRef(c, len));
            }
            if (sum != size) {
                throw bad(id, "chunk lengths add up to " + sum + ", not the file size " + size);
            }
            return new Manifest(size, chunks);
        } catch (BufferUnderflowException e) {
            throw bad(id, "truncated file manifest");
        }
    }

    // ---- tree ----

    /** Encodes a tree; {@code entries} must be sorted by path with no duplicates. */
    static byte[] encodeTree(List<FileEntry> entries) {
        checkTreeOrder(null, entries);
        List<byte[]> paths = new ArrayList<>(entries.size());
        int len = 1 + 4;
        for (FileEntry e : entries) {
            byte[] p = e.path().getBytes(StandardCharsets.UTF_8);
            paths.add(p);
            len += 2 + p.length + ObjectId.LENGTH + 8;
        }
        ByteBuffer b = ByteBuffer.allocate(len);
        b.put((byte) ObjectKind.TREE.tag).putInt(entries.size());
        for (int i = 0; i < entries.size(); i++) {
            FileEntry e = entries.get(i);
            b.putShort((short) paths.get(i).length).put(paths.get(i)).put(e.manifest().bytes()).putLong(e.size());
        }
        return b.array();
    }

    static List<FileEntry> decodeTree(ObjectId id, byte[] enc) {
        expectKind(id, enc, ObjectKind.TREE);
        try {
            ByteBuffer b = ByteBuffer.wrap(enc, 1, enc.length - 1);
            int n = b.getInt();
            if (n < 0 || n > b.remaining() / (2 + 1 + ObjectId.LENGTH + 8)) {
                throw bad(id, "tree entry count " + n + " does not fit the object");
            }
            List<FileEntry> entries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int plen = Short.toUnsignedInt(b.getShort());
                byte[] p = new byte[plen];
                b.get(p);
                String path = utf8(id, p, "path");
                String problem = Paths.problem(path);
                if (problem != null) {
                    throw bad(id, "tree entry '" + printable(path) + "': " + problem);
                }
                ObjectId m = readId(b);
                long size = b.getLong();
                if (size < 0) {
                    throw bad(id, "tree entry '" + path + "' has negative size");
                }
                entries.add(new FileEntry(path, size, m));
            }
            if (b.hasRemaining()) {
                throw bad(id, "trailing bytes after the tree entries");
            }
            checkTreeOrder(id, entries);
            return entries;
        } catch (BufferUnderflowException e) {
            throw bad(id, "truncated tree");
        }
    }

    /** Sorted, unique, and no path is also a directory of another path. */
    private static void checkTreeOrder(ObjectId id, List<FileEntry> entries) {
        Set<String> paths = new HashSet<>();
        String prev = null;
        for (FileEntry e : entries) {
            if (prev != null && prev.compareTo(e.path()) >= 0) {
                throw bad(id, "tree entries not sorted or duplicated at '" + e.path() + "'");
            }
            prev = e.path();
            paths.add(e.path());
        }
        for (FileEntry e : entries) {
            String p = e.path();
            for (int i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) {
                if (paths.contains(p.substring(0, i))) {
                    throw bad(id, "tree has both a file and a directory named '" + p.substring(0, i) + "'");
                }
            }
        }
    }

    // ---- commit ----

    /** The unsigned part of a commit's encoding. */
    static byte[] commitBody(ObjectId tree, List<ObjectId> parents, KeyId author, long timeMillis, String message) {
        if (parents.size() > MAX_PARENTS) {
            throw new IllegalArgumentException("more than " + MAX_PARENTS + " parents");
        }
        byte[] msg = message.getBytes(StandardCharsets.UTF_8);
        if (msg.length > MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("commit message longer than " + MAX_MESSAGE_BYTES + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(1 + 32 + 1 + 32 * parents.size() + 32 + 8 + 4 + msg.length);
        b.put((byte) ObjectKind.COMMIT.tag).put(tree.bytes()).put((byte) parents.size());
        for (ObjectId p : parents) {
            b.put(p.bytes());
        }
        b.put(author.bytes()).putLong(timeMillis).putInt(msg.length).put(msg);
        return b.array();
    }

    /** What the author signs: a fixed prefix, then the unsigned body. */
    static byte[] signedBytes(byte[] body) {
        byte[] s = new byte[COMMIT_SIGNING_PREFIX.length + body.length];
        System.arraycopy(COMMIT_SIGNING_PREFIX, 0, s, 0, COMMIT_SIGNING_PREFIX.length);
        System.arraycopy(body, 0, s, COMMIT_SIGNING_PREFIX.length, body.length);
        return s;
    }

    static byte[] encodeCommit(byte[] body, byte[] signature) {
        return ByteBuffer.allocate(body.length + 2 + signature.length)
                .put(body).putShort((short) signature.length).put(signature).array();
    }

    static SignedCommit decodeCommit(ObjectId id, byte[] enc) {
        expectKind(id, enc, ObjectKind.COMMIT);
        try {
            ByteBuffer b = ByteBuffer.wrap(enc, 1, enc.length - 1);
            ObjectId tree = readId(b);
            int np = Byte.toUnsignedInt(b.get());
            if (np > MAX_PARENTS) {
                throw bad(id, "commit has " + np + " parents");
            }
            List<ObjectId> parents = new ArrayList<>(np);
            for (int i = 0; i < np; i++) {
                ObjectId p = readId(b);
                if (parents.contains(p)) {
                    throw bad(id, "commit lists parent " + p + " twice");
                }
                parents.add(p);
            }
            KeyId author = KeyId.ofBytes(readBytes(b, 32));
            long time = b.getLong();
            int mlen = b.getInt();
            if (mlen < 0 || mlen > MAX_MESSAGE_BYTES) {
                throw bad(id, "commit message length " + mlen);
            }
            String message = utf8(id, readBytes(b, mlen), "message");
            int bodyEnd = b.position();
            int slen = Short.toUnsignedInt(b.getShort());
            if (slen == 0 || slen > MAX_SIGNATURE_BYTES) {
                throw bad(id, "commit signature length " + slen);
            }
            byte[] sig = readBytes(b, slen);
            if (b.hasRemaining()) {
                throw bad(id, "trailing bytes after the commit signature");
            }
            byte[] body = java.util.Arrays.copyOfRange(enc, 0, bodyEnd);
            Commit c = new Commit(id, tree, parents, author, Instant.ofEpochMilli(time), message);
            return new SignedCommit(c, signedBytes(body), sig);
        } catch (BufferUnderflowException e) {
            throw bad(id, "truncated commit");
        }
    }

    /** The ids an object points at (tree of a commit and its parents; manifests of a tree; chunks of a manifest). */
    static List<ObjectId> references(ObjectId id, byte[] enc) {
        return switch (kindOf(id, enc)) {
            case CHUNK -> List.of();
            case FILE -> decodeManifest(id, enc).chunks().stream().map(ChunkRef::id).toList();
            case TREE -> decodeTree(id, enc).stream().map(FileEntry::manifest).toList();
            case COMMIT -> {
                Commit c = decodeCommit(id, enc).commit();
                List<ObjectId> r = new ArrayList<>(c.parents());
                r.add(c.tree());
                yield r;
            }
        };
    }

    // ---- helpers ----

    private static void expectKind(ObjectId id, byte[] enc, ObjectKind want) {
        ObjectKind k = kindOf(id, enc);
        if (k != want) {
            throw bad(id, "expected a " + want.label() + " object, found a " + k.label());
        }
    }

    private static ObjectId readId(ByteBuffer b) {
        return ObjectId.ofBytes(readBytes(b, ObjectId.LENGTH), 0);
    }

    private static byte[] readBytes(ByteBuffer b, int n) {
        if (n > b.remaining()) {
            throw new BufferUnderflowException();
        }
        byte[] r = new byte[n];
        b.get(r);
        return r;
    }

    private static String utf8(ObjectId id, byte[] bytes, String what) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw bad(id, what + " is not valid UTF-8");
        }
    }

    /**
     * Text a peer sent, for a message: one line of at most {@value #MAX_SHOWN} characters, each
     * control or formatting character (newline, escape, bidi override) shown as '?', so the peer
     * cannot forge lines of the receiver's output or drive its terminal.
     */
    static String printable(String text) {
        StringBuilder s = new StringBuilder();
        text.codePoints().limit(MAX_SHOWN)
                .forEach(c -> s.appendCodePoint(Character.isISOControl(c) || Character.getType(c) == Character.FORMAT ? '?' : c));
        return text.codePointCount(0, text.length()) > MAX_SHOWN ? s + "..." : s.toString();
    }

    private static CorruptObjectException bad(ObjectId id, String why) {
        return new CorruptObjectException(id, "object " + (id == null ? "(new)" : id.hex()) + ": " + why);
    }
}
