package io.aether.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;

/**
 * A property: a check that must hold for every value of some generators, run as a JUnit test.
 * <pre>{@code
 * @Test
 * void noAccessEscapesGuestMemory() {
 *     Property.forAll(Gen.longs(-8192, 70 * 4096), Gen.ints(0, 3 * 4096))
 *             .tries(300)
 *             .example(0L, 4096)
 *             .check((gpa, length) -> assertEquals(memory.contains(gpa, length), readSucceeds(gpa, length)));
 * }
 * }</pre>
 *
 * <p>{@code check} first runs the body on the explicit examples, in order, then on
 * {@value #DEFAULT_TRIES} generated tries (or {@code tries(n)}). Every try draws its values from
 * its own random state, split off one run seed; a failure throws an {@link AssertionError} that
 * names the seed, the try and the values, with the body's exception as its cause.
 *
 * <p>A failed try is first shrunk: its values are made smaller (elements of byte arrays, lists and
 * strings deleted, numbers moved towards 0, earlier alternatives of {@link Gen#choose},
 * {@link Gen#oneOf} and {@link Gen#frequency} preferred) for as long as the body still throws the
 * same type of exception, and the report shows the smallest case found, then the try as it was
 * generated. Shrinking stops after {@value #DEFAULT_SHRINK_RUNS} runs of the body or
 * {@link #DEFAULT_SHRINK_TIME} ({@code shrinking(runs, time)} changes both; 0 runs turns it off).
 * The run seed reproduces the try, and so the same shrinking, when the body is deterministic.
 *
 * <p>Two system properties fill in what the test leaves open: {@value #TRIES_PROPERTY} the number
 * of tries of properties that do not set one, and {@value #SEED_PROPERTY} the run seed of
 * properties that do not set one; {@code -Daether.property.seed=<the reported seed>} reproduces a
 * failed run exactly. Without it each run draws a fresh seed.
 *
 * <p>A body that should skip some values returns early; JUnit assumptions inside a body fail the
 * property like any other exception.
 */
public final class Property {

    /** Tries of a property that sets none. */
    public static final int DEFAULT_TRIES = 1000;
    /** System property: the number of tries of properties that set none. */
    public static final String TRIES_PROPERTY = "aether.property.tries";
    /** System property: the run seed of properties that set none. */
    public static final String SEED_PROPERTY = "aether.property.seed";
    /** Runs of the body that shrinking a failed try may take, unless the property sets its own. */
    public static final int DEFAULT_SHRINK_RUNS = 1000;
    /** Time that shrinking a failed try may take, unless the property sets its own. */
    public static final Duration DEFAULT_SHRINK_TIME = Duration.ofSeconds(10);

    private Property() {
    }

    /** A property of one generated value. */
    public static <A> Of1<A> forAll(Gen<A> a) {
        return new Of1<>(a);
    }

    /** A property of two generated values, drawn in order. */
    public static <A, B> Of2<A, B> forAll(Gen<A> a, Gen<B> b) {
        return new Of2<>(a, b);
    }

    /** A property of three generated values, drawn in order. */
    public static <A, B, C> Of3<A, B, C> forAll(Gen<A> a, Gen<B> b, Gen<C> c) {
        return new Of3<>(a, b, c);
    }

    /** The check of a property of one value; it may throw anything, an assertion failure typically. */
    @FunctionalInterface
    public interface Body1<A> {
        void accept(A a) throws Exception;
    }

    /** The check of a property of two values. */
    @FunctionalInterface
    public interface Body2<A, B> {
        void accept(A a, B b) throws Exception;
    }

    /** The check of a property of three values. */
    @FunctionalInterface
    public interface Body3<A, B, C> {
        void accept(A a, B b, C c) throws Exception;
    }

    /** A property of one value, to configure and {@link #check}. */
    public static final class Of1<A> {
        private final Runner runner;

        private Of1(Gen<A> a) {
            runner = new Runner(List.of(a));
        }

        /** Runs {@code tries} generated tries instead of the default. */
        public Of1<A> tries(int tries) {
            runner.tries(tries);
            return this;
        }

        /** Uses {@code seed} as the run seed, whatever the system property says: pins a run. */
        public Of1<A> seed(long seed) {
            runner.seed(seed);
            return this;
        }

        /** Limits shrinking a failed try to {@code runs} runs of the body and {@code time}; 0 runs reports the try as generated. */
        public Of1<A> shrinking(int runs, Duration time) {
            runner.shrinking(runs, time);
            return this;
        }

        /** Adds an explicit example, checked before the generated tries. */
        public Of1<A> example(A a) {
            runner.example(a);
            return this;
        }

        /** Runs the examples and the tries; throws an {@link AssertionError} at the first failure. */
        @SuppressWarnings("unchecked")
        public void check(Body1<A> body) {
            Objects.requireNonNull(body, "body");
            runner.run(v -> body.accept((A) v[0]));
        }
    }

    /** A property of two values, to configure and {@link #check}. */
    public static final class Of2<A, B> {
        private final Runner runner;

        private Of2(Gen<A> a, Gen<B> b) {
            runner = new Runner(List.of(a, b));
        }

        /** Runs {@code tries} generated tries instead of the default. */
        public Of2<A, B> tries(int tries) {
            runner.tries(tries);
            return this;
        }

        /** Uses {@code seed} as the run seed, whatever the system property says: pins a run. */
        public Of2<A, B> seed(long seed) {
            runner.seed(seed);
            return this;
        }

        /** Limits shrinking a failed try to {@code runs} runs of the body and {@code time}; 0 runs reports the try as generated. */
        public Of2<A, B> shrinking(int runs, Duration time) {
            runner.shrinking(runs, time);
            return this;
        }

        /** Adds an explicit example, checked before the generated tries. */
        public Of2<A, B> example(A a, B b) {
            runner.example(a, b);
            return this;
        }

        /** Runs the examples and the tries; throws an {@link AssertionError} at the first failure. */
        @SuppressWarnings("unchecked")
        public void check(Body2<A, B> body) {
            Objects.requireNonNull(body, "body");
            runner.run(v -> body.accept((A) v[0], (B) v[1]));
        }
    }

    /** A property of three values, to configure and {@link #check}. */
    public static final class Of3<A, B, C> {
        private final Runner runner;

        private Of3(Gen<A> a, Gen<B> b, Gen<C> c) {
            runner = new Runner(List.of(a, b, c));
        }

        /** Runs {@code tries} generated tries instead of the default. */
        public Of3<A, B, C> tries(int tries) {
            runner.tries(tries);
            return this;
        }

        /** Uses {@code seed} as the run seed, whatever the system property says: pins a run. */
        public Of3<A, B, C> seed(long seed) {
            runner.seed(seed);
            return this;
        }

        /** Limits shrinking a failed try to {@code runs} runs of the body and {@code time}; 0 runs reports the try as generated. */
        public Of3<A, B, C> shrinking(int runs, Duration time) {
            runner.shrinking(runs, time);
            return this;
        }

        /** Adds an explicit example, checked before the generated tries. */
        public Of3<A, B, C> example(A a, B b, C c) {
            runner.example(a, b, c);
            return this;
        }

        /** Runs the examples and the tries; throws an {@link AssertionError} at the first failure. */
        @SuppressWarnings("unchecked")
        public void check(Body3<A, B, C> body) {
            Objects.requireNonNull(body, "body");
            runner.run(v -> body.accept((A) v[0], (B) v[1], (C) v[2]));
        }
    }

    /** The body over an array of values, one per generator. */
    @FunctionalInterface
    interface Body {
        void accept(Object[] values) throws Exception;
    }

    /** What the typed front ends share: settings, examples, and the loop over tries. */
    private static final class Runner {
        private final List<Gen<?>> gens;
        private final List<Object[]> examples = new ArrayList<>();
        private Integer tries;
        private Long seed;
        private int shrinkRuns = DEFAULT_SHRINK_RUNS;
        private Duration shrinkTime = DEFAULT_SHRINK_TIME;

        Runner(List<Gen<?>> gens) {
            this.gens = gens;
        }

        void tries(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("tries must be at least 1, got " + count);
            }
            tries = count;
        }

        void seed(long value) {
            seed = value;
        }

        void shrinking(int runs, Duration time) {
            if (runs < 0) {
                throw new IllegalArgumentException("shrinking runs must not be negative, got " + runs);
            }
            if (Objects.requireNonNull(time, "time").isNegative()) {
                throw new IllegalArgumentException("shrinking time must not be negative, got " + time);
            }
            shrinkRuns = runs;
            shrinkTime = time;
        }

        void example(Object... values) {
            examples.add(values);
        }

        void run(Body body) {
            for (int i = 0; i < examples.size(); i++) {
                Object[] values = examples.get(i);
                try {
                    body.accept(values);
                } catch (Throwable e) {
                    throw failure("Property failed on example " + (i + 1) + " of " + examples.size(), e, values, values.length);
                }
            }
            int count = tries != null ? tries : setting(TRIES_PROPERTY, DEFAULT_TRIES, Integer::parseInt);
            if (count < 1) {
                throw new IllegalArgumentException(TRIES_PROPERTY + " must be at least 1, got " + count);
            }
            long runSeed = seed != null ? seed : setting(SEED_PROPERTY, ThreadLocalRandom.current().nextLong(), Long::parseLong);
            SplittableRandom seeds = new SplittableRandom(runSeed);
            for (int attempt = 1; attempt <= count; attempt++) {
                Choices choices = Choices.drawing(new SplittableRandom(seeds.nextLong()));
                Object[] values = new Object[gens.size()];
                int drawn = 0;
                try {
                    for (; drawn < values.length; drawn++) {
                        values[drawn] = gens.get(drawn).next(choices);
                    }
                } catch (Throwable e) {
                    throw failure(where(attempt, count, runSeed), e, values, drawn);
                }
                try {
                    body.accept(values);
                } catch (Throwable e) {
                    if (e instanceof OutOfMemoryError oom) {
                        throw oom;
                    }
                    Shrinker.Result shrunk = Shrinker.shrink(gens, body, choices, e, shrinkRuns, shrinkTime);
                    throw shrunkFailure(where(attempt, count, runSeed), shrunk, choices, e);
                }
            }
        }

        private static String where(int attempt, int count, long runSeed) {
            return "Property failed on try " + attempt + " of " + count + ", seed " + runSeed
                    + " (-D" + SEED_PROPERTY + "=" + runSeed + " reproduces it)";
        }

        /** The report of a failed try: the smallest failing case, then (when smaller) the try as generated. */
        private AssertionError shrunkFailure(String where, Shrinker.Result shrunk, Choices generated, Throwable original) {
            if (shrunk.steps() == 0) {
                return failure(where, original, Shrinker.regenerate(gens, generated), gens.size());
            }
            String how = "shrunk in " + shrunk.steps() + (shrunk.steps() == 1 ? " step" : " steps") + " (" + shrunk.runs() + " runs"
                    + (shrunk.stoppedBy() == null ? "" : ", stopped by " + shrunk.stoppedBy()) + ") from the try as generated:";
            AssertionError error = new AssertionError(where + ": " + describe(shrunk.failure())
                    + Show.values(shrunk.values(), gens.size()) + "\n" + how + Show.values(Shrinker.regenerate(gens, generated), gens.size()),
                    shrunk.failure());
            if (original != shrunk.failure()) {
                error.addSuppressed(original);
            }
            return error;
        }

        private static <T> T setting(String name, T fallback, Function<String, T> parse) {
            String text = System.getProperty(name);
            if (text == null || text.isBlank()) {
                return fallback;
            }
            try {
                return parse.apply(text.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("system property " + name + " must be a number, got '" + text + "'", e);
            }
        }

        /** The report of a failure; an OutOfMemoryError passes unchanged, there may be no room for a report. */
        private static AssertionError failure(String where, Throwable e, Object[] values, int drawn) {
            if (e instanceof OutOfMemoryError oom) {
                throw oom;
            }
            return new AssertionError(where + ": " + describe(e) + Show.values(values, drawn), e);
        }

        private static String describe(Throwable e) {
            return e.getMessage() == null ? e.getClass().getName() : e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }
}
