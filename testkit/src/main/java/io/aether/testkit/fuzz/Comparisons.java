package io.aether.testkit.fuzz;

import java.util.SplittableRandom;

/** The latest operands of each comparison site seen so far in a run: where the mutator finds values the code wants. */
final class Comparisons {

    private final long[] left = new long[Edges.COMPARISON_SLOTS];
    private final long[] right = new long[Edges.COMPARISON_SLOTS];
    private final int[] present = new int[Edges.COMPARISON_SLOTS];
    private final boolean[] known = new boolean[Edges.COMPARISON_SLOTS];
    private int count;

    /** Takes the comparisons of the execution that just ended. */
    void collect() {
        for (int word = 0; word < Edges.SEEN.length; word++) {
            for (long bits = Edges.SEEN[word]; bits != 0; bits &= bits - 1) {
                int slot = word * 64 + Long.numberOfTrailingZeros(bits);
                left[slot] = Edges.LEFT[slot];
                right[slot] = Edges.RIGHT[slot];
                if (!known[slot]) {
                    known[slot] = true;
                    present[count++] = slot;
                }
            }
        }
    }

    /** {left, right} of a random site, or null before any comparison was seen. */
    long[] pick(SplittableRandom random) {
        if (count == 0) return null;
        int slot = present[random.nextInt(count)];
        return new long[] {left[slot], right[slot]};
    }
}
