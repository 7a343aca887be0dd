package io.aether.testkit.fuzz;

import java.util.Arrays;

/**
 * The coverage map that instrumented code writes, and the comparisons it saw. Instrumented
 * classes call these methods; {@link Fuzzer} reads and clears them around each execution.
 *
 * <p>{@link #hit} counts an edge between two basic blocks as AFL does: the map cell of (this
 * block's id XOR the previous block's id shifted), so the same block reached from two places
 * counts twice. Counts saturate at 255. {@link #compare} keeps the last operands of each integer
 * comparison site, which the mutator copies into inputs to pass magic values and bounds.
 * Fuzz targets run on one thread at a time; a race on the map only blurs a count.
 */
public final class Edges {

    static final int MAP_SIZE = 1 << 16;
    static final int COMPARISON_SLOTS = 512;

    static final byte[] MAP = new byte[MAP_SIZE];
    static final long[] LEFT = new long[COMPARISON_SLOTS];
    static final long[] RIGHT = new long[COMPARISON_SLOTS];
    /** Comparison slots written since the last {@link #reset}: bit i of word i / 64. */
    static final long[] SEEN = new long[COMPARISON_SLOTS / 64];

    private static int previous;

    private Edges() {
    }

    /** Instrumented code entered the basic block {@code id}. */
    public static void hit(int id) {
        int cell = (id ^ previous) & (MAP_SIZE - 1);
        byte count = MAP[cell];
        if (count != -1) MAP[cell] = (byte) (count + 1);
        previous = id >>> 1;
    }

    /** Instrumented code is about to compare two ints at site {@code id}. */
    public static void compare(int left, int right, int id) {
        if (left != right) record(left, right, id);
    }

    /** Stands in for {@code lcmp} at site {@code id}, with its result. */
    public static int compareLongs(long left, long right, int id) {
        if (left != right) record(left, right, id);
        return Long.compare(left, right);
    }

    private static void record(long left, long right, int id) {
        int slot = (id ^ id >>> 16) & (COMPARISON_SLOTS - 1);
        LEFT[slot] = left;
        RIGHT[slot] = right;
        SEEN[slot >>> 6] |= 1L << slot;
    }

    static void reset() {
        Arrays.fill(MAP, (byte) 0);
        Arrays.fill(SEEN, 0);
        previous = 0;
    }
}
