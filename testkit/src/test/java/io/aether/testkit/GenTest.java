package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class GenTest {

    private static final int DRAWS = 20_000;

    private static <T> List<T> draw(Gen<T> gen, int count) {
        SplittableRandom random = new SplittableRandom(7);
        List<T> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(gen.next(random));
        }
        return out;
    }

    @Test
    void intsStayInRangeAndHitEveryEdge() {
        List<Integer> values = draw(Gen.ints(-8192, 70 * 4096), DRAWS);
        assertTrue(values.stream().allMatch(v -> v >= -8192 && v <= 70 * 4096));
        Set<Integer> seen = new HashSet<>(values);
        for (int edge : new int[] {-8192, -8191, 70 * 4096 - 1, 70 * 4096, 0, 1, -1, 1 << 18, (1 << 18) - 1}) {
            assertTrue(seen.contains(edge), "edge " + edge);
        }
    }

    @Test
    void edgesAreTheEndsZeroOneMinusOneAndPowersOfTwoInRange() {
        assertArrayEquals(sorted(0, 1, 0x07FF_FFFF, 0x0800_0000, 0x0FFF_FFFA, 0x0FFF_FFFB),
                new Numbers(0, 0x0FFF_FFFB, "t").edges());
        assertArrayEquals(sorted(1, 2, 128, 127, 254, 255), new Numbers(1, 255, "t").edges());
        assertArrayEquals(sorted(-300, -299, -256, -255, -1, 0, 1, 2, 3), new Numbers(-300, 3, "t").edges());
        assertArrayEquals(new long[] {5}, new Numbers(5, 5, "t").edges());
        assertArrayEquals(sorted(Long.MIN_VALUE, Long.MIN_VALUE + 1, -1, 0, 1, 1L << 62, (1L << 62) - 1,
                Long.MAX_VALUE - 1, Long.MAX_VALUE), new Numbers(Long.MIN_VALUE, Long.MAX_VALUE, "t").edges());
    }

    private static long[] sorted(long... values) {
        return LongStream.of(values).sorted().toArray();
    }

    @Test
    void wideRangesStillGiveSmallValues() {
        List<Integer> values = draw(Gen.ints(0, 0x0FFF_FFFB), DRAWS);
        long small = values.stream().filter(v -> v < 64).count();
        long twoBytes = values.stream().filter(v -> v >= 64 && v < 4096).count();
        // The near-0 half spreads evenly over the bit counts 0..28: about 6/29 of it below 64.
        assertTrue(small > DRAWS / 20, "values below 64: " + small);
        assertTrue(twoBytes > DRAWS / 20, "values from 64 to 4095: " + twoBytes);
        assertTrue(values.stream().filter(v -> v > 0x0800_0000).count() > DRAWS / 5, "the upper half is reached too");
    }

    @Test
    void longsCoverTheWholeRangeWithBothSigns() {
        List<Long> values = draw(Gen.longs(), DRAWS);
        Set<Long> seen = new HashSet<>(values);
        assertTrue(seen.contains(Long.MIN_VALUE) && seen.contains(Long.MAX_VALUE) && seen.contains(0L));
        assertTrue(values.stream().filter(v -> v < -(1L << 40)).count() > DRAWS / 10);
        assertTrue(values.stream().filter(v -> v > 1L << 40).count() > DRAWS / 10);
        List<Long> top = draw(Gen.longs(Long.MAX_VALUE - 2, Long.MAX_VALUE), 200);
        assertEquals(Set.of(Long.MAX_VALUE - 2, Long.MAX_VALUE - 1, Long.MAX_VALUE), new HashSet<>(top));
    }

    @Test
    void badRangesAreRefusedNamingTheValues() {
        var e = assertThrows(IllegalArgumentException.class, () -> Gen.ints(5, 4));
        assertEquals("ints: min 5 is greater than max 4", e.getMessage());
        assertEquals("lists: the minimum size must not be negative, got -1",
                assertThrows(IllegalArgumentException.class, () -> Gen.lists(Gen.booleans(), -1, 3)).getMessage());
        assertEquals("bytes size: min 4 is greater than max 2",
                assertThrows(IllegalArgumentException.class, () -> Gen.bytes(4, 2)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Gen.weighted(0, Gen.booleans()));
        assertThrows(IllegalArgumentException.class, () -> Gen.choose());
    }

    @Test
    void byteArraysHitTheirLengthLimitsAndByteEdges() {
        List<byte[]> arrays = draw(Gen.bytes(2, 300), 2000);
        Set<Integer> lengths = new HashSet<>();
        Set<Byte> bytes = new HashSet<>();
        for (byte[] a : arrays) {
            lengths.add(a.length);
            for (byte b : a) {
                bytes.add(b);
            }
        }
        assertTrue(lengths.stream().allMatch(n -> n >= 2 && n <= 300));
        assertTrue(lengths.containsAll(List.of(2, 3, 299, 300)), "length edges");
        assertEquals(256, bytes.size(), "every byte value");
        for (byte[] a : draw(Gen.bytes(1, 40, Gen.ints('a', 'd').map(Integer::byteValue)), 500)) {
            for (byte b : a) {
                assertTrue(b >= 'a' && b <= 'd');
            }
        }
    }

    @Test
    void listsAndStringsRespectTheirSizes() {
        Set<Integer> sizes = new HashSet<>();
        int longer = 0;
        for (List<Integer> list : draw(Gen.lists(Gen.ints(0, 4), 1, 12), 2000)) {
            sizes.add(list.size());
            longer += list.size() > 6 ? 1 : 0;
            assertTrue(list.stream().allMatch(v -> v >= 0 && v <= 4));
        }
        assertEquals(12, sizes.size(), "every size from 1 to 12");
        assertTrue(longer > 850 && longer < 1150, "sizes are uniform, not biased to short: " + longer + " of 2000 above 6");
        for (String s : draw(Gen.strings(1, 13, 'a', 'z'), 2000)) {
            assertTrue(s.length() >= 1 && s.length() <= 13 && s.chars().allMatch(c -> c >= 'a' && c <= 'z'), s);
        }
        assertThrows(UnsupportedOperationException.class, () -> Gen.lists(Gen.booleans(), 1, 1).next(new SplittableRandom(1)).add(true));
    }

    @Test
    void frequencyFollowsTheWeights() {
        List<String> values = draw(Gen.frequency(Gen.weighted(8, Gen.constant("common")), Gen.weighted(1, Gen.constant("rare")),
                Gen.weighted(1, Gen.choose("x", "y"))), DRAWS);
        Map<String, Integer> counts = new HashMap<>();
        values.forEach(v -> counts.merge(v, 1, Integer::sum));
        assertEquals(Set.of("common", "rare", "x", "y"), counts.keySet());
        double common = counts.get("common") / (double) DRAWS;
        assertTrue(common > 0.77 && common < 0.83, "8 of 10: " + common);
        double rare = counts.get("rare") / (double) DRAWS;
        assertTrue(rare > 0.08 && rare < 0.12, "1 of 10: " + rare);
    }

    @Test
    void oneOfAndChooseReachEveryChoice() {
        assertEquals(Set.of(1, 2, 3, 10), new HashSet<>(draw(Gen.oneOf(Gen.choose(1, 2, 3), Gen.constant(10)), 500)));
        assertEquals(Set.of(true, false), new HashSet<>(draw(Gen.booleans(), 100)));
    }

    @Test
    void floatsIncludeTheSpecialValues() {
        List<Float> values = draw(Gen.floats(), DRAWS);
        assertTrue(values.stream().anyMatch(f -> f.isNaN()));
        assertTrue(values.contains(Float.POSITIVE_INFINITY) && values.contains(Float.NEGATIVE_INFINITY));
        assertTrue(values.stream().anyMatch(f -> Float.floatToIntBits(f) == Float.floatToIntBits(-0f)));
        assertTrue(values.contains(Float.MIN_VALUE) && values.contains(Float.MAX_VALUE));
        assertTrue(values.stream().filter(f -> Math.abs(f) < 1000f && f != Math.rint(f)).count() > DRAWS / 4, "ordinary fractions");
    }

    @Test
    void mapAndFlatMapCompose() {
        Gen<List<Integer>> sized = Gen.ints(0, 3).flatMap(n -> Gen.lists(Gen.constant(n), n, n));
        for (List<Integer> list : draw(sized, 200)) {
            assertTrue(list.stream().allMatch(v -> v == list.size()));
        }
        assertTrue(draw(Gen.ints(0, 9).map(i -> "#" + i), 50).stream().allMatch(s -> s.matches("#[0-9]")));
    }

    @Test
    void theSameRandomStateGivesTheSameValues() {
        Gen<List<byte[]>> gen = Gen.lists(Gen.bytes(0, 50), 0, 10);
        List<List<byte[]>> a = draw(gen, 100);
        List<List<byte[]>> b = draw(gen, 100);
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).size(), b.get(i).size());
            for (int j = 0; j < a.get(i).size(); j++) {
                assertArrayEquals(a.get(i).get(j), b.get(i).get(j));
            }
        }
    }
}
