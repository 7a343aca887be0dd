package io.aether.testkit.fuzz;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class FuzzerTest {

    // Computed at run time, so that no constant in the class file gives the bytes away.
    private static final int MAGIC = Integer.reverse(0x1BAD_B002);

    /** Fails only on four exact bytes, checked one at a time: a path random inputs almost never take. */
    static void fourBytes(FuzzInput in) {
        if (in.consumeU8() == (MAGIC & 0xFF)) {
            if (in.consumeU8() == (MAGIC >>> 8 & 0xFF)) {
                if (in.consumeU8() == (MAGIC >>> 16 & 0xFF)) {
                    if (in.consumeU8() == (MAGIC >>> 24)) throw new IllegalStateException("found the magic bytes");
                }
            }
        }
    }

    @Test
    void coverageFeedbackFindsWhatBlindMutationDoesNot(@TempDir Path dir) {
        FuzzFailure found = assertThrows(FuzzFailure.class,
                () -> Fuzzer.target(getClass(), "fourBytes").seed(1).seconds(20).directory(dir.resolve("guided")).run());
        assertEquals("found the magic bytes", found.getCause().getMessage());
        // Minimized to the four bytes the target reads.
        assertArrayEquals(new byte[] {(byte) MAGIC, (byte) (MAGIC >>> 8), (byte) (MAGIC >>> 16), (byte) (MAGIC >>> 24)}, found.input());
        assertTrue(found.getMessage().contains("saved as " + dir.resolve("guided")), found.getMessage());

        Fuzzer.Result blind = Fuzzer.target(getClass(), "fourBytes").seed(1).seconds(1).blind(true).directory(dir.resolve("blind")).run();
        assertTrue(blind.executions() > found.executions(), "blind ran " + blind.executions() + " executions, guided found it in "
                + found.executions());
    }

    /** Compares a whole int with a value computed at run time: the comparison's operands lead the mutator to it. */
    static void wholeInt(FuzzInput in) {
        if (in.consumeInt() == MAGIC) throw new IllegalStateException("found the int");
    }

    @Test
    void comparisonOperandsPassMagicNumbers(@TempDir Path dir) {
        FuzzFailure found = assertThrows(FuzzFailure.class,
                () -> Fuzzer.target(getClass(), "wholeInt").seed(2).seconds(20).directory(dir).run());
        assertEquals("found the int", found.getCause().getMessage());
    }

    static void hangsOnOne(FuzzInput in) {
        if (in.consumeU8() == 1) {
            while (!Thread.currentThread().isInterrupted()) Thread.onSpinWait();
        }
    }

    @Test
    void aSavedCorpusInputIsReplayedAndAHangIsAFailure(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("corpus"));
        Files.write(dir.resolve("corpus/hang"), new byte[] {1});
        FuzzFailure hang = assertThrows(FuzzFailure.class,
                () -> Fuzzer.target(getClass(), "hangsOnOne").seconds(0).hangMillis(300).directory(dir).run());
        assertArrayEquals(new byte[] {1}, hang.input());
        assertTrue(hang.getMessage().contains("ran for more than 300 ms"), hang.getMessage());
        assertEquals(1, hang.executions());
    }

    @Test
    void aTargetThatNeverFailsReportsItsCoverage(@TempDir Path dir) {
        Fuzzer.Result r = Fuzzer.target(getClass(), "wholeInt").seed(3).seconds(0.3).maxLength(3).directory(dir).run();
        // An input of at most 3 bytes cannot hold the int; there is one edge in and two ways out.
        assertTrue(r.edges() >= 2 && r.corpus() >= 1, r.toString());
        assertTrue(r.executions() > 100, r.toString());
    }

    @Test
    void aMissingTargetIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> Fuzzer.fuzz(getClass(), "noSuchTarget"));
        assertEquals("no fuzz target static void FuzzerTest.noSuchTarget(FuzzInput)", e.getMessage());
    }

    @Test
    void aSeedIsReadAsFailuresPrintIt() {
        assertEquals(0x9c2e_5cac_c270_d25aL, Fuzzer.parseSeed(String.format("%#x", 0x9c2e_5cac_c270_d25aL)));
        assertEquals(-5, Fuzzer.parseSeed("-5"));
    }

    @Test
    void hitCountsFallIntoAflBuckets() {
        int[] expected = {0, 1, 2, 4, 8, 8, 8, 8, 16, 16};
        for (int count = 0; count < expected.length; count++) assertEquals(expected[count], Fuzzer.bucket(count), "count " + count);
        assertEquals(32, Fuzzer.bucket(31));
        assertEquals(64, Fuzzer.bucket(32));
        assertEquals(64, Fuzzer.bucket(127));
        assertEquals(128, Fuzzer.bucket(255));
    }
}
