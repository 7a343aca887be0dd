package io.aether.testkit;

import java.util.TreeSet;
import java.util.random.RandomGenerator;

/** Draws from an inclusive range of longs: edge cases, uniform values, and (for numbers, not sizes) values biased towards 0. */
final class Numbers {

    /** One draw in this many is an edge case. */
    static final int EDGE_ODDS = 16;

    private final long min;
    private final long max;
    private final long[] edges;

    Numbers(long min, long max, String what) {
        if (min > max) {
            throw new IllegalArgumentException(what + ": min " + min + " is greater than max " + max);
        }
        this.min = min;
        this.max = max;
        this.edges = edges(min, max);
    }

    /** Whether this draw should be an edge case. */
    static boolean edgeDraw(RandomGenerator random) {
        return random.nextInt(EDGE_ODDS) == 0;
    }

    /** A number: an edge case, else uniform or near 0, equally likely. */
    long draw(RandomGenerator random) {
        if (edgeDraw(random)) {
            return edges[random.nextInt(edges.length)];
        }
        return random.nextBoolean() ? uniform(random) : nearZero(random);
    }

    /** A size: an edge case, else uniform, so that long sequences are as likely as short ones. */
    long drawSize(RandomGenerator random) {
        return edgeDraw(random) ? edges[random.nextInt(edges.length)] : uniform(random);
    }

    long min() {
        return min;
    }

    long max() {
        return max;
    }

    long[] edges() {
        return edges.clone();
    }

    /**
     * The ends and their neighbours, 0, 1 and -1, and the largest powers of two inside the range
     * (positive and negative) with their neighbours towards 0: where off-by-one and width bugs live.
     */
    private static long[] edges(long min, long max) {
        TreeSet<Long> candidates = new TreeSet<>();
        candidates.add(min);
        candidates.add(max);
        if (min < max) {
            candidates.add(min + 1);
            candidates.add(max - 1);
        }
        candidates.add(0L);
        candidates.add(1L);
        candidates.add(-1L);
        if (max >= 2) {
            long power = Long.highestOneBit(max);
            candidates.add(power);
            candidates.add(power - 1);
        }
        if (min <= -2) {
            long power = min == Long.MIN_VALUE ? Long.MIN_VALUE : -Long.highestOneBit(-min);
            candidates.add(power);
            candidates.add(power + 1);
        }
        return candidates.stream().filter(v -> v >= min && v <= max).mapToLong(Long::longValue).toArray();
    }

    private long uniform(RandomGenerator random) {
        if (max == Long.MAX_VALUE) {
            return min == Long.MIN_VALUE ? random.nextLong() : random.nextLong(min - 1, max) + 1;
        }
        return random.nextLong(min, max + 1);
    }

    /**
     * A value at a distance from the one nearest 0 whose bit count is uniform: as many values
     * below 16 as between 2^30 and 2^31, so small values come up in wide ranges.
     */
    private long nearZero(RandomGenerator random) {
        long center = Math.clamp(0, min, max);
        if (min == max) {
            return center;
        }
        boolean up = center == min || (center != max && random.nextBoolean());
        // The distance to the end, unsigned: at most 2^63, when center is 0 and min is Long.MIN_VALUE.
        long room = up ? max - center : center - min;
        int bits = random.nextInt(65 - Long.numberOfLeadingZeros(room));
        long distance = bits == 0 ? 0 : random.nextLong() >>> (64 - bits);
        distance = Long.remainderUnsigned(distance, room + 1);
        return up ? center + distance : center - distance;
    }
}
