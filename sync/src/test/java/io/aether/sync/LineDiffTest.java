package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineDiffTest {

    /** LCS length by dynamic programming, the reference. */
    static int lcs(List<String> a, List<String> b) {
        int[][] t = new int[a.size() + 1][b.size() + 1];
        for (int i = a.size() - 1; i >= 0; i--) {
            for (int j = b.size() - 1; j >= 0; j--) {
                t[i][j] = a.get(i).equals(b.get(j)) ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
            }
        }
        return t[0][0];
    }

    static void checkMatching(List<String> a, List<String> b) {
        int[] m = LineDiff.match(a, b);
        int last = -1;
        int count = 0;
        for (int i = 0; i < m.length; i++) {
            if (m[i] >= 0) {
                assertTrue(m[i] > last, "matches must increase");
                assertEquals(a.get(i), b.get(m[i]), "matched lines must be equal");
                last = m[i];
                count++;
            }
        }
        assertEquals(lcs(a, b), count, "the matching must be a longest common subsequence of " + a + " / " + b);
    }

    @Test
    void knownCases() {
        checkMatching(List.of("a", "b", "c", "a", "b", "b", "a"), List.of("c", "b", "a", "b", "a", "c"));
        checkMatching(List.of(), List.of("x"));
        checkMatching(List.of("x", "y"), List.of());
        checkMatching(List.of("same"), List.of("same"));
    }

    @Test
    void matchingIsALongestCommonSubsequence() {
        // Few distinct lines, so that the two sides share many and the matching has choices to make.
        Gen<List<Integer>> lines = Gen.lists(Gen.ints(0, 4), 0, 30);
        Property.forAll(lines, lines).tries(500).check((xs, ys) -> {
            List<String> a = new ArrayList<>();
            xs.forEach(x -> a.add("l" + x));
            List<String> b = new ArrayList<>();
            ys.forEach(y -> b.add("l" + y));
            checkMatching(a, b);
        });
    }
}
