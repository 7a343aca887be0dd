package io.aether.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import java.util.function.ObjIntConsumer;
import java.util.function.ToLongFunction;
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
     * A byte array, list or string: the index of its size choice, its minimum size and the span of
     * choices behind each element, {@code [start, end)}, in order.
     */
    record Sequence(int sizeChoice, long minSize, List<Span> elements) {
    }

    /** The choices from {@code start} up to {@code end}, exclusive. */
    record Span(int start, int end) {
    }

    private final RandomGenerator source;
    private final long[] replay;
    private int replayed;
    private final List<Choice> made = new ArrayList<>();
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

    /** The choices made so far, in order. */
    List<Choice> made() {
        return made;
    }

    /** The sequences drawn so far, in the order they started. */
    List<Sequence> sequences() {
        return sequences;
    }

    /** The values of the choices made, a recording to replay. */
    long[] values() {
        return made.stream().mapToLong(Choice::value).toArray();
    }

    /**
     * Whether this recording is simpler than {@code other}: fewer choices, or as many and the
     * first that differs in cost costs less.
     */
    boolean simplerThan(Choices other) {
        if (made.size() != other.made.size()) {
            return made.size() < other.made.size();
        }
        for (int i = 0; i < made.size(); i++) {
            int c = Long.compareUnsigned(made.get(i).cost(), other.made.get(i).cost());
            if (c != 0) {
                return c < 0;
            }
        }
        return false;
    }

    /** A number of {@code range}: one choice when drawn through choices, else a plain draw. */
    static long number(RandomGenerator random, Numbers range) {
        return random instanceof Choices choices
                ? choices.choose(range.min(), range.max(), Kind.NUMBER, range::draw)
                : range.draw(random);
    }

    /** A float drawn by {@code draw}: one choice when drawn through choices. */
    static float floating(RandomGenerator random, ToLongFunction<RandomGenerator> drawBits) {
        long bits = random instanceof Choices choices
                ? choices.choose(Integer.MIN_VALUE, Integer.MAX_VALUE, Kind.FLOAT, drawBits)
                : drawBits.applyAsLong(random);
        return Float.intBitsToFloat((int) bits);
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
        int sizeChoice = made.size();
        int size = (int) choose(sizes.min(), sizes.max(), Kind.SIZE, sizes::drawSize);
        A out = create.apply(size);
        List<Span> elements = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            int start = made.size();
            fill.accept(out, i);
            elements.add(new Span(start, made.size()));
        }
        sequences.set(index, new Sequence(sizeChoice, sizes.min(), List.copyOf(elements)));
        return out;
    }

    private long choose(long min, long max, Kind kind, ToLongFunction<RandomGenerator> draw) {
        long value;
        if (source != null) {
            value = draw.applyAsLong(source);
        } else {
            Choice simplest = new Choice(0, min, max, kind);
            value = replayed < replay.length ? replay[replayed++] : simplest.target();
            value = kind == Kind.FLOAT ? (int) value : Math.clamp(value, min, max);
        }
        made.add(new Choice(value, min, max, kind));
        return value;
    }

    private long choose(long min, long max, ToLongFunction<RandomGenerator> draw) {
        return choose(min, max, Kind.NUMBER, draw);
    }

    // Raw draws: each is one choice over the values it can return.

    @Override
    public long nextLong() {
        return choose(Long.MIN_VALUE, Long.MAX_VALUE, RandomGenerator::nextLong);
    }

    @Override
    public int nextInt() {
        return (int) choose(Integer.MIN_VALUE, Integer.MAX_VALUE, RandomGenerator::nextInt);
    }

    @Override
    public boolean nextBoolean() {
        return choose(0, 1, r -> r.nextBoolean() ? 1 : 0) == 1;
    }

    @Override
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return (int) choose(0, bound - 1, r -> r.nextInt(bound));
    }

    @Override
    public int nextInt(int origin, int bound) {
        if (origin >= bound) {
            throw new IllegalArgumentException("bound " + bound + " must be greater than origin " + origin);
        }
        return (int) choose(origin, bound - 1L, r -> r.nextInt(origin, bound));
    }

    @Override
    public long nextLong(long bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        return choose(0, bound - 1, r -> r.nextLong(bound));
    }

    @Override
    public long nextLong(long origin, long bound) {
        if (origin >= bound) {
            throw new IllegalArgumentException("bound " + bound + " must be greater than origin " + origin);
        }
        return choose(origin, bound - 1, r -> r.nextLong(origin, bound));
    }
}
