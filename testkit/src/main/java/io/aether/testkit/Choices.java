package io.aether.testkit;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.ObjIntConsumer;
import java.util.function.ToIntFunction;
import java.util.random.RandomGenerator;

/**
 * The random choices behind one try of a property: drawn from a seeded source and recorded, or
 * replayed from a recording that shrinking has made simpler. Generators see a
 * {@link RandomGenerator}; each value they draw becomes one choice, which knows its range and the
 * value it shrinks towards. Numbers from {@link Gen}'s factories are one choice each, their
 * final value, so shrinking moves that value itself; a raw draw from the generator (an index into
 * {@link Gen#choose}, a boolean, a {@code nextLong()}) is a choice too. Byte arrays, lists and
 * strings record their size and the span of choices behind each element, so that shrinking can
 * delete elements.
 *
 * <p>A replayed choice outside its range is clamped into it, and one past the end of the
 * recording is the simplest value: any sequence of longs replays into valid values. Not
 * thread-safe: one try draws on one thread.
 */
final class Choices implements RandomGenerator {

    /** How a choice shrinks. */
    enum Kind {
        /** A number: towards 0, or the end of its range nearest 0. */
        NUMBER,
        /** The size of a sequence: shrunk by deleting elements, never alone. */
        SIZE,
        /** A float, held as its bits: towards 0, then whole numbers. */
        FLOAT
    }

    /** One choice: its value within {@code [min, max]}. */
    record Choice(long value, long min, long max, Kind kind) {

        /** The simplest value of this choice's range. */
        long target() {
            return kind == Kind.FLOAT ? 0 : Math.clamp(0, min, max);
        }

        /**
         * How far from simplest, unsigned (a distance may exceed {@code Long.MAX_VALUE}): for
         * numbers the distance to the target, for floats the magnitude's bits, then the sign.
         */
        long cost() {
            if (kind == Kind.FLOAT) {
                int bits = (int) value;
                return ((long) (bits & 0x7FFF_FFFF) << 1) | (bits >>> 31);
            }
            long target = target();
            return value >= target ? value - target : target - value;
        }

        /** This choice at {@code distance} from the target, on the same side as its value. */
        long towardsTarget(long distance) {
            long target = target();
            return value >= target ? target + distance : target - distance;
        }
    }

    /**
     * A byte array, list or string: the index of its size choice, its minimum size, and where the
     * choices behind each element start: element {@code i} made choices {@code bounds[i]} up to
     * {@code bounds[i + 1]}, exclusive.
     */
    record Sequence(int sizeChoice, long minSize, int[] bounds) {

        int size() {
            return bounds.length - 1;
        }

        int start(int element) {
            return bounds[element];
        }

        int end(int element) {
            return bounds[element + 1];
        }
    }

    private final RandomGenerator source;
    private final long[] replay;
    private int replayed;
    // The choices made, in parallel arrays: a byte array draws one per byte, so no object per choice.
    private long[] values = new long[16];
    private long[] mins = new long[16];
    private long[] maxs = new long[16];
    private Kind[] kinds = new Kind[16];
    private int count;
    private final List<Sequence> sequences = new ArrayList<>();

    private Choices(RandomGenerator source, long[] replay) {
        this.source = source;
        this.replay = replay;
    }

    /** Choices drawn from {@code source}, recorded. */
    static Choices drawing(RandomGenerator source) {
        return new Choices(source, null);
    }

    /** Choices replayed from {@code values}, recorded as they are made. */
    static Choices replaying(long[] values) {
        return new Choices(null, values.clone());
    }

    /** How many choices were made. */
    int size() {
        return count;
    }

    /** The choice made {@code index}-th. */
    Choice choice(int index) {
        return new Choice(values[index], mins[index], maxs[index], kinds[index]);
    }

    /** The sequences drawn so far, in the order they started. */
    List<Sequence> sequences() {
        return sequences;
    }

    /** The values of the choices made, a recording to replay. */
    long[] values() {
        return Arrays.copyOf(values, count);
    }

    /**
     * Whether this recording is simpler than {@code other}: fewer choices, or as many and the
     * first that differs in cost costs less.
     */
    boolean simplerThan(Choices other) {
        if (count != other.count) {
            return count < other.count;
        }
        for (int i = 0; i < count; i++) {
            int c = Long.compareUnsigned(choice(i).cost(), other.choice(i).cost());
            if (c != 0) {
                return c < 0;
            }
        }
        return false;
    }

    /** A number of {@code range}: one choice when drawn through choices, else a plain draw. */
    static long number(RandomGenerator random, Numbers range) {
        if (!(random instanceof Choices choices)) {
            return range.draw(random);
        }
        long value = choices.source != null ? range.draw(choices.source) : choices.replayed(range.min(), range.max(), Kind.NUMBER);
        return choices.record(value, range.min(), range.max(), Kind.NUMBER);
    }

    /** A float whose bits {@code drawBits} draws: one choice when drawn through choices. */
    static float floating(RandomGenerator random, ToIntFunction<RandomGenerator> drawBits) {
        if (!(random instanceof Choices choices)) {
            return Float.intBitsToFloat(drawBits.applyAsInt(random));
        }
        long bits = choices.source != null ? drawBits.applyAsInt(choices.source)
                : choices.replayed(Integer.MIN_VALUE, Integer.MAX_VALUE, Kind.FLOAT);
        return Float.intBitsToFloat((int) choices.record(bits, Integer.MIN_VALUE, Integer.MAX_VALUE, Kind.FLOAT));
    }

    /**
     * A sequence of {@code sizes.drawSize} elements: {@code create} makes it for its size, then
     * {@code fill} sets each element in order, drawing from {@code random}.
     */
    static <A> A sequence(RandomGenerator random, Numbers sizes, IntFunction<A> create, ObjIntConsumer<A> fill) {
        if (!(random instanceof Choices choices)) {
            int size = (int) sizes.drawSize(random);
            A out = create.apply(size);
            for (int i = 0; i < size; i++) {
                fill.accept(out, i);
            }
            return out;
        }
        return choices.recordSequence(sizes, create, fill);
    }

    private <A> A recordSequence(Numbers sizes, IntFunction<A> create, ObjIntConsumer<A> fill) {
        int index = sequences.size();
        sequences.add(null); // in start order: a sequence inside an element comes after the one holding it
        int sizeChoice = count;
        long drawn = source != null ? sizes.drawSize(source) : replayed(sizes.min(), sizes.max(), Kind.SIZE);
        int size = (int) record(drawn, sizes.min(), sizes.max(), Kind.SIZE);
        A out = create.apply(size);
        int[] bounds = new int[size + 1];
        for (int i = 0; i < size; i++) {
            bounds[i] = count;
            fill.accept(out, i);
        }
        bounds[size] = count;
        sequences.set(index, new Sequence(sizeChoice, sizes.min(), bounds));
        return out;
    }

    /** The next replayed value, made valid for its range; the simplest one past the end of the recording. */
    private long replayed(long min, long max, Kind kind) {
        if (replayed >= replay.length) {
            return new Choice(0, min, max, kind).target();
        }
        long value = replay[replayed++];
        return kind == Kind.FLOAT ? (int) value : Math.clamp(value, min, max);
    }

    private long record(long value, long min, long max, Kind kind) {
        if (count == values.length) {
            int grown = count * 2;
            values = Arrays.copyOf(values, grown);
            mins = Arrays.copyOf(mins, grown);
            maxs = Arrays.copyOf(maxs, grown);
            kinds = Arrays.copyOf(kinds, grown);
        }
        values[count] = value;
        mins[count] = min;
        maxs[count] = max;
        kinds[count] = kind;
        count++;
        return value;
    }

    /** A raw draw over {@code [min, max]}: drawn from the source, or replayed. */
    private long raw(long min, long max, long drawn) {
        return record(source != null ? drawn : replayed(min, max, Kind.NUMBER), min, max, Kind.NUMBER);
    }

    // Raw draws: each is one choice over the values it can return. The source is asked only when drawing.

    @Override
    public long nextLong() {
        return raw(Long.MIN_VALUE, Long.MAX_VALUE, source != null ? source.nextLong() : 0);
    }

    @Override
    public int nextInt() {
        return (int) raw(Integer.MIN_VALUE, Integer.MAX_VALUE, source != null ? source.nextInt() : 0);
    }

    @Override
    public boolean nextBoolean() {
        return raw(0, 1, source != null && source.nextBoolean() ? 1 : 0) == 1;
    }

    @Override
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return (int) raw(0, bound - 1, source != null ? source.nextInt(bound) : 0);
    }

    @Override
    public int nextInt(int origin, int bound) {
        if (origin >= bound) {
            throw new IllegalArgumentException("bound " + bound + " must be greater than origin " + origin);
        }
        return (int) raw(origin, bound - 1L, source != null ? source.nextInt(origin, bound) : 0);
    }

    @Override
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return raw(0, bound - 1, source != null ? source.nextLong(bound) : 0);
    }

    @Override
    public long nextLong(long origin, long bound) {
        if (origin >= bound) {
            throw new IllegalArgumentException("bound " + bound + " must be greater than origin " + origin);
        }
        return raw(origin, bound - 1, source != null ? source.nextLong(origin, bound) : 0);
    }
}
