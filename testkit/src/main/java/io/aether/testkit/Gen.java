package io.aether.testkit;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.random.RandomGenerator;

/**
 * A generator of test values: a function of a source of randomness. The same random state gives
 * the same value, so a run is reproduced from its seed ({@link Property}).
 *
 * <p>Numeric factories mix in edge cases: about one draw in 16 is a boundary value of the range
 * (its ends and their neighbours, 0, 1, -1, the largest powers of two inside it and their
 * neighbours); of the rest, half are uniform over the range and half are biased
 * towards the value nearest 0 (a uniform number of bits), so that wide ranges still produce small
 * values. Sizes of arrays, lists and strings have the same edge cases and are otherwise uniform:
 * the shortest and the longest come up, and long sequences are as likely as short ones.
 *
 * <p>When a property fails, its values shrink ({@link Property}): the numbers of these factories
 * towards 0 (or the end of their range nearest 0), byte arrays, lists and strings by losing
 * elements, {@link #choose}, {@link #oneOf} and {@link #frequency} towards their first
 * alternative, booleans towards {@code false}. A generator that draws from the random source
 * directly ({@code random.nextInt(n)}) shrinks those draws towards their lowest value too.
 *
 * <p>Values of several parts are plain lambdas, since a {@code Gen} is a function:
 * <pre>{@code
 * Gen<Integer> offsets = Gen.ints(0, 7);
 * Gen<Access> accesses = r -> new Access(Gen.booleans().next(r), offsets.next(r));
 * Gen<List<Access>> runs = Gen.lists(accesses, 0, 60);
 * }</pre>
 *
 * @param <T> the type of the values
 */
@FunctionalInterface
public interface Gen<T> {

    /** The next value, drawn from {@code random}. */
    T next(RandomGenerator random);

    /** Values of this generator passed through {@code f}. */
    default <R> Gen<R> map(Function<? super T, ? extends R> f) {
        Objects.requireNonNull(f, "f");
        return random -> f.apply(next(random));
    }

    /** A value of this generator chooses the generator of the result (for example a size, then a list of that size). */
    default <R> Gen<R> flatMap(Function<? super T, ? extends Gen<? extends R>> f) {
        Objects.requireNonNull(f, "f");
        return random -> f.apply(next(random)).next(random);
    }

    /** Always {@code value}. */
    static <T> Gen<T> constant(T value) {
        return random -> value;
    }

    /** One of {@code values}, each equally likely. */
    @SafeVarargs
    static <T> Gen<T> choose(T... values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("choose needs at least one value");
        }
        List<T> copy = List.of(values.clone());
        return random -> copy.get(random.nextInt(copy.size()));
    }

    /** {@code true} or {@code false}, equally likely. */
    static Gen<Boolean> booleans() {
        return RandomGenerator::nextBoolean;
    }

    /** Integers from {@code min} to {@code max} inclusive, with edge cases (see the class comment). */
    static Gen<Integer> ints(int min, int max) {
        Numbers range = new Numbers(min, max, "ints");
        return random -> (int) Choices.number(random, range);
    }

    /** Any integer, with edge cases. */
    static Gen<Integer> ints() {
        return ints(Integer.MIN_VALUE, Integer.MAX_VALUE);
    }

    /** Longs from {@code min} to {@code max} inclusive, with edge cases (see the class comment). */
    static Gen<Long> longs(long min, long max) {
        Numbers range = new Numbers(min, max, "longs");
        return random -> Choices.number(random, range);
    }

    /** Any long, with edge cases. */
    static Gen<Long> longs() {
        return longs(Long.MIN_VALUE, Long.MAX_VALUE);
    }

    /**
     * Any float, NaN and the infinities included. Edge cases: ±0, ±1, the smallest and largest
     * magnitudes, the smallest normal, NaN, ±infinity; otherwise half are any bit pattern (every
     * exponent equally likely) and half are uniform in [-1000, 1000).
     */
    static Gen<Float> floats() {
        float[] edges = {0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
            -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
        return random -> Choices.floating(random, r -> {
            if (Numbers.edgeDraw(r)) {
                return Float.floatToRawIntBits(edges[r.nextInt(edges.length)]);
            }
            return r.nextBoolean() ? r.nextInt() : Float.floatToRawIntBits(r.nextFloat(-1000f, 1000f));
        });
    }

    /** Byte arrays of {@code minLength} to {@code maxLength} bytes, any values (edge cases mixed into both). */
    static Gen<byte[]> bytes(int minLength, int maxLength) {
        return bytes(minLength, maxLength, ints(Byte.MIN_VALUE, Byte.MAX_VALUE).map(Integer::byteValue));
    }

    /** Byte arrays of {@code minLength} to {@code maxLength} bytes, each byte drawn from {@code each}. */
    static Gen<byte[]> bytes(int minLength, int maxLength, Gen<Byte> each) {
        Objects.requireNonNull(each, "each");
        Numbers lengths = sizes(minLength, maxLength, "bytes");
        return random -> Choices.sequence(random, lengths, byte[]::new, (out, i) -> out[i] = each.next(random));
    }

    /** Strings of {@code minLength} to {@code maxLength} characters from {@code first} to {@code last}. */
    static Gen<String> strings(int minLength, int maxLength, char first, char last) {
        Numbers lengths = sizes(minLength, maxLength, "strings");
        Gen<Integer> chars = ints(first, last);
        return random -> Choices.sequence(random, lengths, StringBuilder::new,
                (out, i) -> out.append((char) (int) chars.next(random))).toString();
    }

    /** Unmodifiable lists of {@code minSize} to {@code maxSize} elements drawn from {@code element}. */
    static <T> Gen<List<T>> lists(Gen<T> element, int minSize, int maxSize) {
        Objects.requireNonNull(element, "element");
        Numbers sizes = sizes(minSize, maxSize, "lists");
        return random -> Collections.unmodifiableList(
                Choices.sequence(random, sizes, ArrayList<T>::new, (out, i) -> out.add(element.next(random))));
    }

    /** A value of one of {@code gens}, each generator equally likely. */
    @SafeVarargs
    static <T> Gen<T> oneOf(Gen<? extends T>... gens) {
        if (gens.length == 0) {
            throw new IllegalArgumentException("oneOf needs at least one generator");
        }
        List<Gen<? extends T>> copy = List.of(gens.clone());
        return random -> copy.get(random.nextInt(copy.size())).next(random);
    }

    /**
     * A value of one of the weighted generators, each chosen in proportion to its weight:
     * {@code frequency(weighted(8, common), weighted(1, rare))}.
     */
    @SafeVarargs
    static <T> Gen<T> frequency(Weighted<? extends T>... choices) {
        if (choices.length == 0) {
            throw new IllegalArgumentException("frequency needs at least one weighted generator");
        }
        List<Weighted<? extends T>> copy = List.of(choices.clone());
        int total = copy.stream().mapToInt(Weighted::weight).reduce(0, Math::addExact);
        return random -> {
            int pick = random.nextInt(total);
            for (Weighted<? extends T> choice : copy) {
                pick -= choice.weight();
                if (pick < 0) {
                    return choice.gen().next(random);
                }
            }
            throw new AssertionError("weights add up to " + total);
        };
    }

    /** {@code gen} with a weight, for {@link #frequency}. */
    static <T> Weighted<T> weighted(int weight, Gen<? extends T> gen) {
        return new Weighted<>(weight, gen);
    }

    /**
     * A generator and its relative weight in {@link #frequency}.
     *
     * @param weight how often, relative to the other choices; at least 1
     * @param gen the generator
     * @param <T> the type of the values
     */
    record Weighted<T>(int weight, Gen<? extends T> gen) {
        public Weighted {
            if (weight < 1) {
                throw new IllegalArgumentException("weight must be at least 1, got " + weight);
            }
            Objects.requireNonNull(gen, "gen");
        }
    }

    private static Numbers sizes(int min, int max, String what) {
        if (min < 0) {
            throw new IllegalArgumentException(what + ": the minimum size must not be negative, got " + min);
        }
        return new Numbers(min, max, what + " size");
    }
}
