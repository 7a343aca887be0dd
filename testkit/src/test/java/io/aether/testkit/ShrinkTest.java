package io.aether.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * A failed try is reported small. The expected cases follow from each property alone (the
 * smallest value that breaks it), whatever the seed; the tests run unseeded, so that every run
 * checks shrinking from another generated case.
 */
class ShrinkTest {

    private static final Pattern SHRUNK = Pattern.compile("\nshrunk in (\\d+) steps? \\((\\d+) runs(, stopped by ([^)]*))?\\) from the try as generated:");

    /**
     * The report's lines for the smallest case: what follows the first line, up to the shrinking
     * line, or to the end when the try was generated as small as it can be.
     */
    private static String smallest(AssertionError e) {
        String message = e.getMessage();
        Matcher m = SHRUNK.matcher(message);
        return message.substring(message.indexOf('\n'), m.find() ? m.start() : message.length());
    }

    private static AssertionError failure(Runnable check) {
        return assertThrows(AssertionError.class, check::run);
    }

    @Test
    void aListWithAnElementOver100ShrinksToTheSingleElement101() {
        AssertionError e = failure(() -> Property.forAll(Gen.lists(Gen.ints(), 0, 60))
                .check(list -> assertTrue(list.stream().allMatch(v -> v <= 100), "an element over 100")));
        assertEquals("\n  value 1: [101]", smallest(e));
        assertTrue(e.getMessage().contains(", seed "), "the report names the seed: " + e.getMessage());
    }

    @Test
    void anIntOfAtLeast1000ShrinksTo1000AndALongLikewise() {
        assertEquals("\n  value 1: 1000", smallest(failure(() -> Property.forAll(Gen.ints()).check(n -> assertTrue(n < 1000)))));
        assertEquals("\n  value 1: 1000000000000",
                smallest(failure(() -> Property.forAll(Gen.longs()).check(n -> assertTrue(n < 1_000_000_000_000L)))));
    }

    @Test
    void bytesHoldingA7fShrinkToThatByteAlone() {
        AssertionError e = failure(() -> Property.forAll(Gen.bytes(0, 300)).check(bytes -> {
            for (byte b : bytes) {
                assertTrue(b != 0x7f, "holds 7f");
            }
        }));
        assertEquals("\n  value 1: [1 bytes] 7f", smallest(e));
    }

    @Test
    void numbersShrinkTowardsTheEndOfTheirRangeNearestZero() {
        assertEquals("\n  value 1: 701", smallest(failure(() -> Property.forAll(Gen.ints(500, 2000)).check(n -> assertTrue(n <= 700)))));
        assertEquals("\n  value 1: -701", smallest(failure(() -> Property.forAll(Gen.ints(-2000, -500)).check(n -> assertTrue(n >= -700)))));
    }

    record Access(boolean write, int offset) {
    }

    @Test
    void composedValuesShrinkPartByPart() {
        Gen<Access> accesses = r -> new Access(Gen.booleans().next(r), Gen.ints(0, 4095).next(r));
        AssertionError e = failure(() -> Property.forAll(Gen.lists(accesses, 0, 40), Gen.strings(0, 20, 'a', 'z'))
                .check((list, label) -> assertTrue(list.stream().noneMatch(a -> a.write() && a.offset() >= 64), "a write at 64 or above")));
        assertEquals("\n  value 1: [Access[write=true, offset=64]]\n  value 2: ", smallest(e), "the string is not needed: it shrinks to empty");
    }

    @Test
    void nestedSequencesLoseTheElementsTheFailureDoesNotNeed() {
        AssertionError e = failure(() -> Property.forAll(Gen.lists(Gen.bytes(0, 20), 0, 10)).check(arrays -> {
            for (byte[] a : arrays) {
                for (byte b : a) {
                    assertTrue(b != 0x7f);
                }
            }
        }));
        assertEquals("\n  value 1: [[1 bytes] 7f]", smallest(e));
    }

    @Test
    void earlierAlternativesAreSimpler() {
        AssertionError e = failure(() -> Property.forAll(Gen.lists(Gen.choose("a", "b", "c"), 0, 10))
                .check(list -> assertFalse(list.contains("c") && list.size() > 1, "c and another")));
        String smallest = smallest(e);
        assertTrue(smallest.equals("\n  value 1: [a, c]") || smallest.equals("\n  value 1: [c, a]"), smallest);
    }

    @Test
    void onlyTheSameTypeOfFailureCounts() {
        // Two faults: 101 to 200 fails an assertion, above 200 throws. A case keeps the type it failed with first.
        AssertionError e = failure(() -> Property.forAll(Gen.ints(0, 1000)).check(n -> {
            if (n > 200) {
                throw new IllegalStateException("over 200");
            }
            assertTrue(n <= 100, "over 100");
        }));
        boolean threw = e.getCause() instanceof IllegalStateException;
        assertEquals(threw ? "\n  value 1: 201" : "\n  value 1: 101", smallest(e));
        assertTrue(e.getMessage().startsWith("Property failed on try"), e.getMessage());
        assertTrue(e.getMessage().contains(threw ? ": IllegalStateException: over 200\n" : ": AssertionFailedError: over 100"), e.getMessage());
    }

    @Test
    void theReportKeepsTheGeneratedCaseAndTheOriginalFailure() {
        AssertionError e = failure(() -> Property.forAll(Gen.ints(0, 100_000)).seed(5).check(n -> assertTrue(n < 1000, "n was " + n)));
        Matcher m = Pattern.compile("(?s)Property failed on try \\d+ of 1000, seed 5 \\(-Daether\\.property\\.seed=5 reproduces it\\): "
                + "AssertionFailedError: n was 1000 ==> .*\n  value 1: 1000" + SHRUNK.pattern() + "\n  value 1: (\\d+)").matcher(e.getMessage());
        assertTrue(m.matches(), e.getMessage());
        int generated = Integer.parseInt(m.group(5));
        assertTrue(generated > 1000, "the try as generated: " + generated);
        assertTrue(e.getCause().getMessage().startsWith("n was 1000"), "the cause is the smallest case's failure");
        assertEquals(1, e.getSuppressed().length);
        assertTrue(e.getSuppressed()[0].getMessage().startsWith("n was " + generated), "the original failure is kept");
    }

    @Test
    void shrinkingStopsAtItsRunLimit() {
        // Seeded: an unlucky draw could be shrunk within the limits.
        AssertionError e = failure(() -> Property.forAll(Gen.lists(Gen.ints(), 0, 60)).seed(1).shrinking(5, Duration.ofMinutes(1))
                .check(list -> assertTrue(list.stream().allMatch(v -> v <= 100))));
        Matcher m = SHRUNK.matcher(e.getMessage());
        assertTrue(m.find(), e.getMessage());
        assertEquals("5", m.group(2), e.getMessage());
        assertEquals("the limit of 5 runs", m.group(4));
    }

    @Test
    void shrinkingStopsAtItsTimeLimit() {
        long started = System.nanoTime();
        AssertionError e = failure(() -> Property.forAll(Gen.lists(Gen.ints(), 0, 60)).seed(1).shrinking(100_000, Duration.ofMillis(200))
                .check(list -> {
                    if (list.stream().anyMatch(v -> v > 100)) {
                        Thread.sleep(50);
                        throw new AssertionError("an element over 100");
                    }
                }));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        assertTrue(e.getMessage().contains("stopped by the time limit of 200 ms"), e.getMessage());
        assertTrue(took.compareTo(Duration.ofSeconds(3)) < 0, "shrinking took " + took);
    }

    @Test
    void noShrinkingReportsTheTryAsGenerated() {
        AssertionError e = failure(() -> Property.forAll(Gen.ints(5000, 9000)).shrinking(0, Duration.ZERO).check(n -> assertTrue(n < 10)));
        assertFalse(e.getMessage().contains("shrunk"), e.getMessage());
        assertInstanceOf(AssertionError.class, e.getCause());
        assertThrows(IllegalArgumentException.class, () -> Property.forAll(Gen.ints()).shrinking(-1, Duration.ZERO));
    }

    @Test
    void aFailureThatIsAlreadySmallestHasNoShrinkingLine() {
        AssertionError e = failure(() -> Property.forAll(Gen.ints(7, 7), Gen.lists(Gen.booleans(), 0, 0)).check((n, none) -> {
            throw new IllegalStateException("always");
        }));
        assertEquals(List.of("  value 1: 7", "  value 2: []"), e.getMessage().lines().skip(1).toList());
    }
}
