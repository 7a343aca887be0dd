package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ChunkerTest {

    static List<byte[]> chunks(byte[] data) throws IOException {
        return chunks(new ByteArrayInputStream(data));
    }

    static List<byte[]> chunks(InputStream in) throws IOException {
        List<byte[]> out = new ArrayList<>();
        Chunker.split(in, (buf, off, len) -> out.add(java.util.Arrays.copyOfRange(buf, off, off + len)));
        return out;
    }

    static Set<ObjectId> ids(List<byte[]> chunks) {
        Set<ObjectId> s = new HashSet<>();
        chunks.forEach(c -> s.add(ObjectId.hash(c)));
        return s;
    }

    @Test
    void chunksReassembleAndRespectTheBounds() throws IOException {
        byte[] data = TestModels.bytes(1, 5_000_000);
        List<byte[]> cs = chunks(data);
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        for (int i = 0; i < cs.size(); i++) {
            byte[] c = cs.get(i);
            back.writeBytes(c);
            assertTrue(c.length <= Chunker.MAX, "chunk " + i + " too big: " + c.length);
            if (i < cs.size() - 1) {
                assertTrue(c.length >= Chunker.MIN, "chunk " + i + " too small: " + c.length);
            }
        }
        assertArrayEquals(data, back.toByteArray());
        double avg = (double) data.length / cs.size();
        // Normalized chunking keeps the mean near the target (random data: roughly 50-90 KiB here).
        assertTrue(avg > 40_000 && avg < 100_000, "average chunk size " + avg);
    }

    @Test
    void emptyInputHasNoChunksAndTinyInputOne() throws IOException {
        assertEquals(0, chunks(new byte[0]).size());
        assertEquals(1, chunks(new byte[10]).size());
        assertEquals(10, chunks(new byte[10]).get(0).length);
    }

    @Test
    void sameChunksWhateverTheReadSizes() throws IOException {
        byte[] data = TestModels.bytes(2, 3_000_000);
        // A stream that hands out at most 1000 bytes per read.
        InputStream trickle = new ByteArrayInputStream(data) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 1000));
            }
        };
        List<byte[]> a = chunks(data);
        List<byte[]> b = chunks(trickle);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertArrayEquals(a.get(i), b.get(i));
        }
    }

    @Test
    void anInsertionEarlyInAFileChangesOnlyNearbyChunks() throws IOException {
        byte[] data = TestModels.bytes(3, 4_000_000);
        byte[] edited = new byte[data.length + 100];
        int at = 200_000;
        System.arraycopy(data, 0, edited, 0, at);
        System.arraycopy(TestModels.bytes(99, 100), 0, edited, at, 100);
        System.arraycopy(data, at, edited, at + 100, data.length - at);
        Set<ObjectId> before = ids(chunks(data));
        List<byte[]> after = chunks(edited);
        long newChunks = after.stream().filter(c -> !before.contains(ObjectId.hash(c))).count();
        // Fixed-size blocks would all shift; content-defined cuts resynchronise after the edit.
        assertTrue(newChunks <= 2, newChunks + " of " + after.size() + " chunks changed");
        assertTrue(after.size() > 30);
    }

    @Test
    void anyEditChangesAtMostAFewChunks() {
        Property.forAll(Gen.ints(0, 1_900_000), Gen.ints(1, 5000), Gen.ints(0, 5000)).tries(25).check((at, inserted, deleted) -> {
            byte[] data = TestModels.bytes(4, 2_000_000);
            int del = Math.min(deleted, data.length - at);
            byte[] edited = new byte[data.length + inserted - del];
            System.arraycopy(data, 0, edited, 0, at);
            System.arraycopy(TestModels.bytes(at, inserted), 0, edited, at, inserted);
            System.arraycopy(data, at + del, edited, at + inserted, data.length - at - del);
            Set<ObjectId> before = ids(chunks(data));
            List<byte[]> after = chunks(edited);
            long offset = 0;
            int changed = 0;
            for (byte[] c : after) {
                if (!before.contains(ObjectId.hash(c))) {
                    changed++;
                    // Locality: a new chunk begins at most one chunk before the edit and ends
                    // within two maximal chunks after it; everything else is shared.
                    assertTrue(offset >= at - Chunker.MAX && offset + c.length <= at + inserted + 2L * Chunker.MAX,
                            "chunk at " + offset + " changed by an edit at " + at);
                }
                offset += c.length;
            }
            assertTrue(changed >= 1 && changed <= 5, "edit at " + at + " (+" + inserted + "/-" + del + ") changed " + changed + " chunks");
        });
    }

    @Test
    void aFineTunedModelSharesMostChunksWithItsParent() throws IOException {
        float[] w = TestModels.weights(5, 1_000_000);
        byte[] parent = TestModels.onnx(java.util.Map.of("w", w));
        float[] tuned = w.clone();
        for (int i = 500_000; i < 510_000; i++) {
            tuned[i] += 0.01f;
        }
        byte[] child = TestModels.onnx(java.util.Map.of("w", tuned));
        Set<ObjectId> p = ids(chunks(parent));
        List<byte[]> c = chunks(child);
        long sharedBytes = c.stream().filter(x -> p.contains(ObjectId.hash(x))).mapToLong(x -> x.length).sum();
        assertTrue(sharedBytes > child.length * 0.9, "only " + sharedBytes + " of " + child.length + " bytes shared");
    }
}
