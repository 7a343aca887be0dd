package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;

class WireTest {

    private static byte[] frames(byte[]... objects) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(buf);
        try (Wire.Compressor c = new Wire.Compressor()) {
            for (byte[] o : objects) {
                Wire.writeFrame(out, ObjectId.hash(o), o, c);
            }
        }
        out.flush();
        return buf.toByteArray();
    }

    private static List<Wire.Frame> read(byte[] stream) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(stream));
        Inflater inf = new Inflater(true);
        List<Wire.Frame> out = new java.util.ArrayList<>();
        Wire.Frame f;
        while ((f = Wire.readFrame(in, inf)) != null) {
            out.add(f);
        }
        inf.end();
        return out;
    }

    @Test
    void textFloatsAndRandomBytesRoundTripEachWithTheRightCodec() throws IOException {
        byte[] text = Codec.encodeChunk("the same words again and again ".repeat(2000).getBytes(), 0, 62000);
        ByteBuffer fb = ByteBuffer.allocate(64000).order(ByteOrder.LITTLE_ENDIAN);
        float[] w = TestModels.weights(1, 16000);
        for (float x : w) {
            fb.putFloat(x * 0.05f);
        }
        byte[] floats = Codec.encodeChunk(fb.array(), 0, 64000);
        byte[] random = Codec.encodeChunk(TestModels.bytes(2, 50000), 0, 50000);
        byte[] stream = frames(text, floats, random);
        List<Wire.Frame> got = read(stream);
        assertEquals(3, got.size());
        assertArrayEquals(text, got.get(0).encoded());
        assertArrayEquals(floats, got.get(1).encoded());
        assertArrayEquals(random, got.get(2).encoded());
        assertTrue(got.get(0).wireBytes() < text.length / 10, "text compresses well: " + got.get(0).wireBytes());
        assertTrue(got.get(1).wireBytes() < floats.length * 0.97, "float weights gain a little: " + got.get(1).wireBytes());
        assertEquals(random.length + 41, got.get(2).wireBytes(), "incompressible bytes travel raw");
    }

    @Test
    void aCutStreamIsAnEofAndAnErrorFrameCarriesTheReason() throws IOException {
        byte[] stream = frames(Codec.encodeChunk(TestModels.bytes(3, 1000), 0, 1000));
        assertThrows(EOFException.class, () -> read(Arrays.copyOf(stream, stream.length - 10)));
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Wire.writeError(new DataOutputStream(buf), ObjectId.hash(new byte[] {1}), "object is corrupt");
        RepositoryException e = assertThrows(RepositoryException.class, () -> read(buf.toByteArray()));
        assertTrue(e.getMessage().contains("object is corrupt"), e.getMessage());
        assertNull(Wire.readFrame(new DataInputStream(new ByteArrayInputStream(new byte[0])), new Inflater(true)));
    }

    @Test
    void aPeersErrorReasonIsShownAsOnePrintableLineOfBoundedLength() throws IOException {
        // Found by WireCoverageFuzzTest: a newline (or an escape sequence, or a bidi override) in the
        // reason let a hostile peer forge lines of the receiver's output.
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        ObjectId id = ObjectId.hash(new byte[] {1});
        Wire.writeError(new DataOutputStream(buf), id, "corrupt\n\u001b[31mall good\u202e\r\t!");
        RepositoryException e = assertThrows(RepositoryException.class, () -> read(buf.toByteArray()));
        assertEquals("the sender stopped at object " + id.hex() + ": corrupt??[31mall good???!", e.getMessage());

        buf.reset();
        Wire.writeError(new DataOutputStream(buf), id, "x".repeat(5000));
        e = assertThrows(RepositoryException.class, () -> read(buf.toByteArray()));
        assertEquals("the sender stopped at object " + id.hex() + ": " + "x".repeat(200) + "...", e.getMessage());
    }

    @Test
    void hugeLengthsAreRefusedBeforeAllocating() {
        ByteBuffer b = ByteBuffer.allocate(41);
        b.put(new byte[32]).put((byte) 0).putInt(Integer.MAX_VALUE).putInt(Integer.MAX_VALUE);
        IOException e = assertThrows(IOException.class, () -> read(b.array()));
        assertTrue(e.getMessage().contains("bad lengths"), e.getMessage());
        ByteBuffer ids = ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE);
        assertThrows(IOException.class, () -> Wire.readIds(new DataInputStream(new ByteArrayInputStream(ids.array()))));
    }

    /** Bytes this thread allocated while running {@code body}. */
    private static long allocatedBy(org.junit.jupiter.api.function.Executable body) {
        var mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long id = Thread.currentThread().threadId();
        long before = mx.getThreadAllocatedBytes(id);
        assertThrows(IOException.class, body);
        return mx.getThreadAllocatedBytes(id) - before;
    }

    @Test
    void aHeaderPromisingTheLimitCostsOnlyWhatIsSent() {
        int claimed = Codec.MAX_OBJECT_BYTES;
        ByteBuffer raw = ByteBuffer.allocate(41 + 1000);
        raw.put(new byte[32]).put((byte) Wire.RAW).putInt(claimed).putInt(claimed).put(new byte[1000]);
        long rawCost = allocatedBy(() -> read(raw.array()));
        assertTrue(rawCost < claimed / 8, "a cut 64 MiB raw frame allocated " + rawCost + " bytes");

        // A valid DEFLATE stream of 10 bytes whose header claims 64 MiB of output.
        java.util.zip.Deflater d = new java.util.zip.Deflater(1, true);
        d.setInput(new byte[10]);
        d.finish();
        byte[] z = new byte[100];
        int zn = d.deflate(z);
        d.end();
        ByteBuffer bomb = ByteBuffer.allocate(41 + zn);
        bomb.put(new byte[32]).put((byte) Wire.DEFLATE).putInt(claimed).putInt(zn).put(z, 0, zn);
        long bombCost = allocatedBy(() -> read(bomb.array()));
        assertTrue(bombCost < claimed / 8, "a compressed frame claiming 64 MiB allocated " + bombCost + " bytes");
    }

    @Test
    void garbageStreamsFailCleanly() {
        Property.forAll(Gen.bytes(0, 300)).tries(1000).check(junk -> {
            try {
                read(junk);
            } catch (IOException | RepositoryException expected) {
                // Refused with a reason.
            }
        });
    }
}
