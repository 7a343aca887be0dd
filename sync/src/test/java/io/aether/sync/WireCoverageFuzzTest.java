package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.KeyId;
import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.List;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz target for what a sync peer receives: an optional id list, then object
 * frames (raw, DEFLATE or error) whose contents go through the object codec (chunks, file
 * manifests, trees, commits). A hostile stream may only end in an {@link IOException} or a
 * {@link RepositoryException} with a one-line reason; every frame read must survive a round trip
 * through the sender's side, and every object the codec accepts must encode back to the same
 * bytes (so its id is the one it was sent under).
 */
@Timeout(120)
class WireCoverageFuzzTest {

    @Test
    void wire() {
        Fuzzer.target(getClass(), "wire").maxLength(16 << 10).run();
    }

    /** One byte says whether an id list comes first; the rest is the stream. */
    static void wire(FuzzInput in) throws IOException {
        boolean ids = in.consumeBoolean();
        DataInputStream stream = new DataInputStream(new ByteArrayInputStream(in.consumeRemaining()));
        Inflater inflater = new Inflater(true);
        try {
            if (ids) Wire.readIds(stream);
            for (Wire.Frame f; (f = Wire.readFrame(stream, inflater)) != null; ) {
                assertTrue(f.encoded().length > 0 && f.encoded().length <= Codec.MAX_OBJECT_BYTES, "object size");
                roundTrip(f);
                decodeAndReencode(f.id(), f.encoded());
            }
        } catch (EOFException cut) {
            // The stream ended inside a frame: DataInputStream says so without a message.
        } catch (IOException | RepositoryException refused) {
            assertPrintableLine(refused.getMessage());
        } finally {
            inflater.end();
        }
    }

    private static void roundTrip(Wire.Frame f) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (Wire.Compressor c = new Wire.Compressor()) {
            Wire.writeFrame(new DataOutputStream(buf), f.id(), f.encoded(), c);
        }
        Inflater inflater = new Inflater(true);
        try {
            Wire.Frame back = Wire.readFrame(new DataInputStream(new ByteArrayInputStream(buf.toByteArray())), inflater);
            assertEquals(f.id(), back.id());
            assertArrayEquals(f.encoded(), back.encoded(), "a frame survives the sender's side");
        } finally {
            inflater.end();
        }
    }

    /** An object the codec accepts has exactly one encoding: the one it came in. */
    private static void decodeAndReencode(ObjectId id, byte[] enc) {
        try {
            switch (Codec.kindOf(id, enc)) {
                case CHUNK -> assertEquals(List.of(), Codec.references(id, enc));
                case FILE -> assertArrayEquals(enc, Codec.encodeManifest(Codec.decodeManifest(id, enc)), "manifest encoding");
                case TREE -> assertArrayEquals(enc, Codec.encodeTree(Codec.decodeTree(id, enc)), "tree encoding");
                case COMMIT -> {
                    Codec.SignedCommit s = Codec.decodeCommit(id, enc);
                    Commit c = s.commit();
                    byte[] body = Codec.commitBody(c.tree(), c.parents(), c.author(), c.time().toEpochMilli(), c.message());
                    assertArrayEquals(enc, Codec.encodeCommit(body, s.signature()), "commit encoding");
                    assertArrayEquals(Codec.signedBytes(body), s.signedBytes(), "signed bytes");
                }
            }
        } catch (CorruptObjectException refused) {
            assertPrintableLine(refused.getMessage());
        }
    }

    /** What a peer sent ends up in messages: it must not break the line or drive the terminal. */
    private static void assertPrintableLine(String message) {
        assertTrue(message != null && message.codePoints().noneMatch(c -> Character.isISOControl(c) || Character.getType(c) == Character.FORMAT),
                "one printable line: " + message);
    }

    /** A stream as a peer sends it: an id list, then a text chunk (DEFLATE), a manifest, a tree and a commit. */
    static byte[] seedStream() throws IOException {
        byte[] chunk = Codec.encodeChunk("weights and words, again and again; ".repeat(40).getBytes(), 0, 1440);
        ObjectId chunkId = ObjectId.hash(chunk);
        byte[] manifest = Codec.encodeManifest(new Codec.Manifest(1440, List.of(new Codec.ChunkRef(chunkId, 1440))));
        ObjectId manifestId = ObjectId.hash(manifest);
        byte[] tree = Codec.encodeTree(List.of(new FileEntry("model.onnx", 1440, manifestId), new FileEntry("notes/a.txt", 1440, manifestId)));
        ObjectId treeId = ObjectId.hash(tree);
        byte[] body = Codec.commitBody(treeId, List.of(chunkId), KeyId.ofBytes(new byte[32]), 1_700_000_000_000L, "first model");
        byte[] commit = Codec.encodeCommit(body, new byte[] {1, 2, 3, 4});
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(buf);
        out.writeByte(1);
        Wire.writeIds(out, List.of(chunkId, treeId));
        try (Wire.Compressor c = new Wire.Compressor()) {
            for (byte[] o : List.of(chunk, manifest, tree, commit)) Wire.writeFrame(out, ObjectId.hash(o), o, c);
        }
        Wire.writeError(out, chunkId, "object is corrupt");
        return buf.toByteArray();
    }

    @Test
    void theSeedReachesEveryObjectKind() throws IOException {
        byte[] seed = seedStream();
        wire(new FuzzInput(seed));
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(seed, 1, seed.length - 1));
        assertEquals(2, Wire.readIds(in).size());
        Inflater inflater = new Inflater(true);
        try {
            Wire.Frame text = Wire.readFrame(in, inflater);
            assertTrue(text.wireBytes() < text.encoded().length, "the text chunk travels compressed");
            for (ObjectKind kind : List.of(ObjectKind.FILE, ObjectKind.TREE, ObjectKind.COMMIT)) {
                assertEquals(kind, Codec.kindOf(null, Wire.readFrame(in, inflater).encoded()));
            }
        } finally {
            inflater.end();
        }
    }
}
