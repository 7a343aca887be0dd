package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class PropertyTest {

    private static final Pattern TRY = Pattern.compile("on try (\\d+) of (\\d+), seed (-?\\d+) \\(-Daether\\.property\\.seed=(-?\\d+) reproduces it\\)");

    /** Runs {@code action} with a system property set, then restores it. */
    private static void withSystemProperty(String name, String value, Runnable action) {
        String old = System.getProperty(name);
        System.setProperty(name, value);
        try {
            action.run();
        } finally {
            if (old == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, old);
            }
        }
    }

    @Test
    void aFailingPropertyNamesTheSeedTheTryAndTheValues() {
        AssertionError e = assertThrows(AssertionError.class, () -> Property.forAll(Gen.ints(0, 1000), Gen.bytes(3, 3))
                .tries(500)
                .seed(42)
                .check((n, bytes) -> assertTrue(n < 900, "n was " + n)));
        Matcher m = TRY.matcher(e.getMessage());
        assertTrue(m.find(), e.getMessage());
        assertEquals("500", m.group(2));
        assertEquals("42", m.group(3));
        assertEquals("42", m.group(4));
        // Shrunk first: the smallest n that fails, bytes of zeros; then the try as it was generated.
        Matcher values = Pattern.compile("(?s).*: AssertionFailedError: n was 900 ==>.*\n  value 1: 900\n  value 2: \\[3 bytes\\] 00 00 00"
                + "\nshrunk in \\d+ steps \\(\\d+ runs\\) from the try as generated:"
                + "\n  value 1: (\\d+)\n  value 2: \\[3 bytes\\] [0-9a-f]{2} [0-9a-f]{2} [0-9a-f]{2}").matcher(e.getMessage());
        assertTrue(values.matches(), e.getMessage());
        assertTrue(Integer.parseInt(values.group(1)) >= 900, values.group(1));
        assertInstanceOf(AssertionError.class, e.getCause());
        assertEquals("n was 900 ==> expected: <true> but was: <false>", e.getCause().getMessage());
    }

    @Test
    void theSameSeedReproducesTheSameFailure() {
        Gen<List<Integer>> lists = Gen.lists(Gen.ints(), 0, 20);
        Property.Body1<List<Integer>> body = list -> assertTrue(list.stream().noneMatch(v -> v % 97 == 13));
        String first = assertThrows(AssertionError.class, () -> Property.forAll(lists).seed(-7).check(body)).getMessage();
        String again = assertThrows(AssertionError.class, () -> Property.forAll(lists).seed(-7).check(body)).getMessage();
        assertEquals(first, again);
        String viaSystemProperty = assertThrows(AssertionError.class,
                () -> withSystemProperty(Property.SEED_PROPERTY, "-7", () -> Property.forAll(lists).check(body))).getMessage();
        assertEquals(first, viaSystemProperty);
    }

    @Test
    void theReportedSeedOfAnUnseededRunReproducesIt() {
        Property.Body1<Long> body = v -> assertTrue(v % 1000 != 0);
        String reported = assertThrows(AssertionError.class, () -> Property.forAll(Gen.longs()).check(body)).getMessage();
        Matcher m = TRY.matcher(reported);
        assertTrue(m.find(), reported);
        String again = assertThrows(AssertionError.class,
                () -> withSystemProperty(Property.SEED_PROPERTY, m.group(4), () -> Property.forAll(Gen.longs()).check(body))).getMessage();
        assertEquals(reported, again);
    }

    @Test
    void theSameSeedGivesTheSameValuesAndAnotherSeedOthers() {
        assertEquals(values(1), values(1));
        assertNotEquals(values(1), values(2));
    }

    private static List<Integer> values(long seed) {
        List<Integer> seen = new ArrayList<>();
        Property.forAll(Gen.ints()).tries(50).seed(seed).check(seen::add);
        return seen;
    }

    @Test
    void runsTheRequestedNumberOfTries() {
        int[] calls = new int[1];
        Property.forAll(Gen.booleans(), Gen.longs(), Gen.ints(0, 1)).tries(37).check((a, b, c) -> calls[0]++);
        assertEquals(37, calls[0]);
        calls[0] = 0;
        withSystemProperty(Property.TRIES_PROPERTY, "12", () -> Property.forAll(Gen.booleans()).check(b -> calls[0]++));
        assertEquals(12, calls[0], "the system property sets the count of properties that set none");
        calls[0] = 0;
        withSystemProperty(Property.TRIES_PROPERTY, "12", () -> Property.forAll(Gen.booleans()).tries(5).check(b -> calls[0]++));
        assertEquals(5, calls[0], "a count in the test wins");
        assertThrows(IllegalArgumentException.class, () -> Property.forAll(Gen.booleans()).tries(0));
        var bad = assertThrows(IllegalArgumentException.class,
                () -> withSystemProperty(Property.TRIES_PROPERTY, "many", () -> Property.forAll(Gen.booleans()).check(b -> { })));
        assertEquals("system property aether.property.tries must be a number, got 'many'", bad.getMessage());
    }

    @Test
    void defaultTriesAreAThousand() {
        int[] calls = new int[1];
        Property.forAll(Gen.booleans()).check(b -> calls[0]++);
        String configured = System.getProperty(Property.TRIES_PROPERTY);
        assertEquals(configured == null ? Property.DEFAULT_TRIES : Integer.parseInt(configured), calls[0]);
    }

    @Test
    void examplesRunFirstInTheirOrder() {
        List<String> seen = new ArrayList<>();
        Property.forAll(Gen.strings(0, 3, 'a', 'c'), Gen.ints(0, 9))
                .tries(3)
                .example("first", 100)
                .example("second", 200)
                .check((s, n) -> seen.add(s + n));
        assertEquals(5, seen.size());
        assertEquals(List.of("first100", "second200"), seen.subList(0, 2));
    }

    @Test
    void aFailingExampleIsNamedWithoutASeed() {
        AssertionError e = assertThrows(AssertionError.class, () -> Property.forAll(Gen.ints(0, 10))
                .example(5)
                .example(-1)
                .check(n -> assertTrue(n >= 0, "negative")));
        assertEquals("Property failed on example 2 of 2: AssertionFailedError: negative ==> expected: <true> but was: <false>"
                + "\n  value 1: -1", e.getMessage());
    }

    @Test
    void checkedExceptionsAndGeneratorFailuresAreReportedToo() {
        IOException io = new IOException("disk full");
        AssertionError e = assertThrows(AssertionError.class, () -> Property.forAll(Gen.constant("x")).seed(3).check(x -> {
            throw io;
        }));
        assertSame(io, e.getCause());
        assertTrue(e.getMessage().contains("on try 1 of 1000, seed 3") && e.getMessage().endsWith("IOException: disk full\n  value 1: x"),
                e.getMessage());
        Gen<Integer> broken = random -> {
            throw new IllegalStateException("no value");
        };
        AssertionError g = assertThrows(AssertionError.class, () -> Property.forAll(Gen.ints(), broken).seed(3).check((a, b) -> { }));
        assertTrue(g.getMessage().matches("(?s).*: IllegalStateException: no value\n  value 1: -?\\d+\n  value 2: \\(its generator threw\\)"),
                g.getMessage());
    }

    @Test
    void triesReachTheEdgeCases() {
        Set<Integer> seen = new HashSet<>();
        Property.forAll(Gen.ints(-1000, 1000)).tries(1000).seed(11).check(seen::add);
        assertTrue(seen.containsAll(List.of(-1000, -999, 999, 1000, 0, 1, -1, 512, 511, -512, -511)), seen.toString());
    }
}
