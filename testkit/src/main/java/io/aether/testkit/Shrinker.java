package io.aether.testkit;

import io.aether.testkit.Choices.Choice;
import io.aether.testkit.Choices.Sequence;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * Shrinks the failing try of a property to a small case that still fails: it replays simpler
 * choices ({@link Choices}) and keeps each replay whose body throws the same type of exception as
 * the original failure. Two passes repeat until neither finds a simpler failing case or a limit is
 * reached: deleting elements of byte arrays, lists and strings (all that can go, then halves,
 * quarters, ... down to single elements, from the end), and moving each number to its target (0,
 * or the end of its range nearest 0) or, failing that, as near it as a binary search finds.
 * A replay counts only when its whole recording is simpler than the best so far (fewer choices,
 * else smaller ones from the first that differs), so shrinking always ends.
 */
final class Shrinker {

    /**
     * What shrinking found.
     *
     * @param values the smallest failing case, generated afresh (a body may have changed the values it got)
     * @param failure what the body threw for it
     * @param steps how many times a simpler failing case was found; 0 when the original was the smallest
     * @param runs how many times the body ran
     * @param stoppedBy the limit that ended shrinking early, or {@code null} when no simpler case failed
     */
    record Result(Object[] values, Throwable failure, int steps, int runs, String stoppedBy) {
    }

    private final List<Gen<?>> gens;
    private final Property.Body body;
    private final Class<? extends Throwable> failureType;
    private final int maxRuns;
    private final Duration maxTime;
    private final long deadline;
    private Choices best;
    private Throwable bestFailure;
    private int steps;
    private int runs;
    private String stoppedBy;

    private Shrinker(List<Gen<?>> gens, Property.Body body, Choices failing, Throwable failure, int maxRuns, Duration maxTime) {
        this.gens = gens;
        this.body = body;
        this.failureType = failure.getClass();
        this.maxRuns = maxRuns;
        this.maxTime = maxTime;
        this.deadline = System.nanoTime() + maxTime.toNanos();
        this.best = failing;
        this.bestFailure = failure;
    }

    /**
     * Shrinks the try recorded in {@code failing}, whose body threw {@code failure}, running the
     * body at most {@code maxRuns} times and for at most {@code maxTime}.
     */
    static Result shrink(List<Gen<?>> gens, Property.Body body, Choices failing, Throwable failure, int maxRuns, Duration maxTime) {
        Shrinker shrinker = new Shrinker(gens, body, failing, failure, maxRuns, maxTime);
        boolean progress = true;
        while (progress && !shrinker.exhausted()) {
            progress = shrinker.deleteElements() | shrinker.shrinkNumbers();
        }
        return new Result(regenerate(gens, shrinker.best), shrinker.bestFailure, shrinker.steps, shrinker.runs, shrinker.stoppedBy);
    }

    /** The values of a recording, generated again from it. */
    static Object[] regenerate(List<Gen<?>> gens, Choices recording) {
        Choices replay = Choices.replaying(recording.values());
        Object[] values = new Object[gens.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = gens.get(i).next(replay);
        }
        return values;
    }

    private boolean exhausted() {
        if (stoppedBy == null) {
            if (runs >= maxRuns) {
                stoppedBy = "the limit of " + maxRuns + " runs";
            } else if (System.nanoTime() - deadline >= 0) {
                stoppedBy = "the time limit of " + maxTime.toMillis() + " ms";
            } else if (Thread.currentThread().isInterrupted()) {
                stoppedBy = "an interrupt";
            }
        }
        return stoppedBy != null;
    }

    /** Deletes chunks of elements, largest first; within a size, non-overlapping chunks from the end. */
    private boolean deleteElements() {
        boolean progress = false;
        for (int s = 0; s < best.sequences().size(); s++) {
            for (int chunk = deletable(best.sequences().get(s)); chunk >= 1; chunk /= 2) {
                for (int first = best.sequences().get(s).size() - chunk; first >= 0; first -= chunk) {
                    if (exhausted()) {
                        return progress;
                    }
                    // Deleting inside sequence s changes neither it nor any that starts before it.
                    Sequence sequence = best.sequences().get(s);
                    if (first + chunk <= sequence.size() && deletable(sequence) >= chunk
                            && replay(withoutElements(sequence, first, chunk))) {
                        progress = true;
                    }
                }
            }
        }
        return progress;
    }

    private static int deletable(Sequence sequence) {
        return (int) (sequence.size() - sequence.minSize());
    }

    /** The best recording less {@code count} elements of {@code sequence} from {@code first}, its size lowered to match. */
    private long[] withoutElements(Sequence sequence, int first, int count) {
        long[] values = best.values();
        values[sequence.sizeChoice()] -= count;
        int from = sequence.start(first);
        int to = sequence.end(first + count - 1);
        long[] out = Arrays.copyOf(values, values.length - (to - from));
        System.arraycopy(values, to, out, from, values.length - to);
        return out;
    }

    /** Moves each number, and each float, to a simpler value that still fails. */
    private boolean shrinkNumbers() {
        boolean progress = false;
        for (int i = 0; i < best.size() && !exhausted(); i++) {
            Choice choice = best.choice(i);
            progress |= switch (choice.kind()) {
                case NUMBER -> minimize(i, choice);
                case FLOAT -> simplifyFloat(i, choice);
                case SIZE -> false; // deleteElements lowers sizes together with the elements they count
            };
        }
        return progress;
    }

    /** The target if it fails; else a binary search for the smallest distance from it that still fails. */
    private boolean minimize(int index, Choice choice) {
        long fails = choice.cost();
        if (fails == 0) {
            return false;
        }
        if (replaceWith(index, choice.target())) {
            return true;
        }
        boolean progress = false;
        long passes = 0; // distances compare unsigned: they may exceed Long.MAX_VALUE
        while (Long.compareUnsigned(fails - passes, 1) > 0 && !exhausted()) {
            long middle = passes + ((fails - passes) >>> 1);
            if (replaceWith(index, choice.towardsTarget(middle))) {
                fails = middle;
                progress = true;
            } else {
                passes = middle;
            }
        }
        return progress;
    }

    /** 0, the whole number towards 0, or the magnitude: the first of them that is simpler and fails. */
    private boolean simplifyFloat(int index, Choice choice) {
        float value = Float.intBitsToFloat((int) choice.value());
        float whole = Float.isFinite(value) && Math.abs(value) < 0x1p62f ? (float) (long) value : value;
        for (float candidate : new float[] {0f, whole, Math.abs(value)}) {
            long bits = Float.floatToRawIntBits(candidate);
            Choice simpler = new Choice(bits, choice.min(), choice.max(), choice.kind());
            if (Long.compareUnsigned(simpler.cost(), choice.cost()) < 0 && replaceWith(index, bits)) {
                return true;
            }
        }
        return false;
    }

    private boolean replaceWith(int index, long value) {
        if (index >= best.size()) {
            return false;
        }
        long[] values = best.values();
        values[index] = value;
        return replay(values);
    }

    /** Generates a case from {@code values} and runs the body on it; keeps it when it is simpler and fails the same way. */
    private boolean replay(long[] values) {
        Choices candidate = Choices.replaying(values);
        Object[] generated = new Object[gens.size()];
        try {
            for (int i = 0; i < generated.length; i++) {
                generated[i] = gens.get(i).next(candidate);
            }
        } catch (RuntimeException | StackOverflowError refused) {
            return false; // a generator that refuses these choices gives no case
        }
        if (!candidate.simplerThan(best)) {
            return false;
        }
        runs++;
        try {
            body.accept(generated);
            return false;
        } catch (Throwable failure) {
            if (failure.getClass() != failureType) {
                return false;
            }
            best = candidate;
            bestFailure = failure;
            steps++;
            return true;
        }
    }
}
