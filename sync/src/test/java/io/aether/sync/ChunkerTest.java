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
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
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

    // ---------------------------------------------------------------- format vectors
    //
    // The cut points are part of the on-disk format: chunk ids, and so every manifest and commit
    // id, depend on them. The expected offsets below were computed outside Java by a separate
    // Python rendering of the definition in sync/README.md (gear table from SplitMix64 seeded
    // with 0x6165746865722d31, h = (h << 1) + GEAR[b] from byte MIN of a chunk on, a cut after the
    // first byte whose h has its top 18 bits zero below 64 KiB or its top 14 bits zero above, a
    // forced cut at 256 KiB). The reference chunker in this class is a second, straightforward
    // rendering of the same definition: it must agree with those numbers before it is trusted to
    // judge Chunker on other inputs.

    /** End offsets of the chunks of 600,000 zero bytes: no cut point ever fires, so every chunk but the last is maximal. */
    private static final long[] ZEROS_600K = {262_144, 524_288, 600_000};

    /** End offsets of the chunks of {@link #splitMix64Stream}(42, 1,200,000): small-mask and large-mask cuts. */
    private static final long[] SEEDED_42_1200K = {84_416, 159_704, 265_067, 343_960, 447_662, 496_076, 552_812, 652_841,
        736_556, 805_355, 881_237, 969_630, 1_036_490, 1_145_622, 1_200_000};

    @Test
    void theTestsSplitMix64MatchesThePublishedSequence() {
        // Vigna's reference splitmix64.c: the first outputs for seed 0 and seed 1234567.
        long[] seed0 = splitMix64(0, 3);
        assertEquals(0xe220a8397b1dcdafL, seed0[0]);
        assertEquals(0x6e789e6aa1b965f4L, seed0[1]);
        assertEquals(0x06c45d188009454fL, seed0[2]);
        long[] seed1234567 = splitMix64(1234567, 5);
        assertEquals("6457827717110365317", Long.toUnsignedString(seed1234567[0]));
        assertEquals("3203168211198807973", Long.toUnsignedString(seed1234567[1]));
        assertEquals("9817491932198370423", Long.toUnsignedString(seed1234567[2]));
        assertEquals("4593380528125082431", Long.toUnsignedString(seed1234567[3]));
        assertEquals("16408922859458223821", Long.toUnsignedString(seed1234567[4]));
    }

    @Test
    void theReferenceChunkerReproducesTheVectors() {
        assertArrayEquals(ZEROS_600K, ReferenceFastCdc.boundaries(new byte[600_000]));
        assertArrayEquals(SEEDED_42_1200K, ReferenceFastCdc.boundaries(splitMix64Stream(42, 1_200_000)));
    }

    @Test
    void aZeroFilledBlockIsCutIntoMaximalChunks() throws IOException {
        assertArrayEquals(ZEROS_600K, boundaries(chunks(new byte[600_000])));
    }

    @Test
    void aStreamWithNoCutPointIsCutAtExactlyTheMaximumSize() throws IOException {
        // Zero bytes never satisfy either mask (see ZEROS_600K): the cut is forced at 262,144 bytes.
        List<byte[]> cs = chunks(new byte[262_144 + 1]);
        assertEquals(2, cs.size());
        assertEquals(262_144, cs.get(0).length);
        assertEquals(1, cs.get(1).length);
        assertEquals(1, chunks(new byte[262_144]).size());
    }

    @Test
    void aSeededStreamIsCutAtTheKnownOffsets() throws IOException {
        assertArrayEquals(SEEDED_42_1200K, boundaries(chunks(splitMix64Stream(42, 1_200_000))));
    }

    @Test
    void chunkerAgreesWithTheReferenceOnOtherStreams() {
        Property.forAll(Gen.ints(1, 1_000_000), Gen.ints(1, 900_000)).tries(12).check((seed, length) -> {
            byte[] data = splitMix64Stream(seed, length);
            assertArrayEquals(ReferenceFastCdc.boundaries(data), boundaries(chunks(data)), "seed " + seed + ", " + length + " bytes");
        });
    }

    private static long[] boundaries(List<byte[]> chunks) {
        long[] ends = new long[chunks.size()];
        long at = 0;
        for (int i = 0; i < ends.length; i++) {
            at += chunks.get(i).length;
            ends[i] = at;
        }
        return ends;
    }

    /** The first {@code n} outputs of SplitMix64 (Steele, Lea, Flood 2014) from {@code seed}. */
    static long[] splitMix64(long seed, int n) {
        long[] out = new long[n];
        long state = seed;
        for (int i = 0; i < n; i++) {
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            out[i] = z ^ (z >>> 31);
        }
        return out;
    }

    /** {@code length} bytes: SplitMix64 outputs from {@code seed}, each written little-endian. */
    static byte[] splitMix64Stream(long seed, int length) {
        long[] words = splitMix64(seed, (length + 7) / 8);
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = (byte) (words[i / 8] >>> (8 * (i % 8)));
        }
        return out;
    }

    /** FastCDC as sync/README.md defines it, one byte at a time over a whole array. */
    private static final class ReferenceFastCdc {
        private static final int MIN_SIZE = 16 * 1024;
        private static final int NORMAL_SIZE = 64 * 1024;
        private static final int MAX_SIZE = 256 * 1024;
        private static final long[] GEAR = splitMix64(0x6165746865722d31L, 256);

        static long[] boundaries(byte[] data) {
            List<Long> ends = new ArrayList<>();
            int start = 0;
            while (start < data.length) {
                start += chunkLength(data, start);
                ends.add((long) start);
            }
            return ends.stream().mapToLong(Long::longValue).toArray();
        }

        private static int chunkLength(byte[] data, int start) {
            int remaining = data.length - start;
            if (remaining <= MIN_SIZE) {
                return remaining;
            }
            int limit = Math.min(remaining, MAX_SIZE);
            long h = 0;
            for (int i = MIN_SIZE; i < limit; i++) {
                h = (h << 1) + GEAR[data[start + i] & 0xff];
                int maskBits = i < NORMAL_SIZE ? 18 : 14;
                if (h >>> (64 - maskBits) == 0) {
                    return i + 1; // the byte that completes the match ends the chunk
                }
            }
            return limit;
        }
    }
}
