package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.List;
import org.junit.jupiter.api.Test;

class CodecTest {

    private static final ObjectId A = ObjectId.hash(new byte[] {1});
    private static final ObjectId B = ObjectId.hash(new byte[] {2});

    @Test
    void manifestRoundTripAndSizeCheck() {
        Codec.Manifest m = new Codec.Manifest(30, List.of(new Codec.ChunkRef(A, 10), new Codec.ChunkRef(B, 20)));
        byte[] enc = Codec.encodeManifest(m);
        ObjectId id = ObjectId.hash(enc);
        assertEquals(m, Codec.decodeManifest(id, enc));
        byte[] lying = Codec.encodeManifest(new Codec.Manifest(31, m.chunks()));
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Codec.decodeManifest(A, lying));
        assertTrue(e.getMessage().contains("not the file size 31"), e.getMessage());
    }

    @Test
    void treeRoundTripAndPathRules() {
        List<FileEntry> t = List.of(new FileEntry("a/model.onnx", 5, A), new FileEntry("b.json", 7, B));
        byte[] enc = Codec.encodeTree(t);
        assertEquals(t, Codec.decodeTree(ObjectId.hash(enc), enc));
        assertThrows(CorruptObjectException.class, () -> Codec.encodeTree(List.of(t.get(1), t.get(0))), "unsorted");
        assertThrows(CorruptObjectException.class, () -> Codec.encodeTree(List.of(new FileEntry("a", 1, A), new FileEntry("a/b", 1, B))));
        for (String bad : new String[] {"../x", "/abs", "a//b", ".aether/objects", "a\\b", "a/./b", "x\ny"}) {
            assertThrows(IllegalArgumentException.class, () -> new FileEntry(bad, 1, A), bad);
        }
    }

    /** A tree object (tag 3) with one entry, encoded by hand so that the path is not checked on the way. */
    private static byte[] oneEntryTree(String path) {
        byte[] p = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(1 + 4 + 2 + p.length + 32 + 8);
        b.put((byte) 3).putInt(1).putShort((short) p.length).put(p).put(A.bytes()).putLong(1);
        return b.array();
    }

    @Test
    void aTreeSmuggledWithAnEscapingPathIsRefused() {
        // Hand-built encoding of one entry "../evil": the decoder, not just the constructor, refuses it.
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Codec.decodeTree(A, oneEntryTree("../evil")));
        assertTrue(e.getMessage().contains("'..'"), e.getMessage());
    }

    @Test
    void aRefusedPathIsQuotedWithoutItsControlCharacters() {
        // Found by WireCoverageFuzzTest: the refusal echoed the escape sequence it refused, so a peer's
        // tree could drive the receiver's terminal. One entry "a<ESC>[2Jb<LF>".
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Codec.decodeTree(A, oneEntryTree("a\u001b[2Jb\n")));
        assertEquals("object " + A.hex() + ": tree entry 'a?[2Jb?': control character or backslash in path", e.getMessage());
    }

    @Test
    void commitRoundTripSignedBytesCoverEverythingButTheSignature() {
        byte[] body = Codec.commitBody(A, List.of(B), Fixture.ALICE.keyId(), 1234, "msg\nmore");
        byte[] sig = Fixture.ALICE.sign(Codec.signedBytes(body));
        byte[] enc = Codec.encodeCommit(body, sig);
        ObjectId id = ObjectId.hash(enc);
        Codec.SignedCommit sc = Codec.decodeCommit(id, enc);
        assertEquals(A, sc.commit().tree());
        assertEquals(List.of(B), sc.commit().parents());
        assertEquals(Fixture.ALICE.keyId(), sc.commit().author());
        assertEquals(1234, sc.commit().time().toEpochMilli());
        assertEquals("msg", sc.commit().subject());
        assertArrayEquals(sig, sc.signature());
        assertArrayEquals(Codec.signedBytes(body), sc.signedBytes());
        assertEquals(List.of(B, A), Codec.references(id, enc));
    }

    @Test
    void wrongKindIsRefusedByName() {
        byte[] chunk = Codec.encodeChunk(new byte[] {9, 9}, 0, 2);
        CorruptObjectException e = assertThrows(CorruptObjectException.class, () -> Codec.decodeTree(A, chunk));
        assertTrue(e.getMessage().contains("expected a tree object, found a chunk"), e.getMessage());
    }

    /** Hostile bytes never crash a decoder with anything but a CorruptObjectException. */
    @Test
    void decodersRejectGarbageCleanly() {
        Property.forAll(Gen.bytes(0, 200)).tries(2000).check(junk -> {
            for (int kind = 1; kind <= 4; kind++) {
                byte[] enc = new byte[junk.length + 1];
                enc[0] = (byte) kind;
                System.arraycopy(junk, 0, enc, 1, junk.length);
                try {
                    Codec.references(A, enc);
                } catch (CorruptObjectException expected) {
                    // Refused with a reason: fine.
                }
            }
        });
    }
}
