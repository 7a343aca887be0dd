package io.aether.testkit.fuzz;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Makes a new input from a corpus entry by stacking 1 to 8 random byte-level mutations, as AFL's
 * havoc stage does: bit flips, random and boundary values, small arithmetic on 8/16/32-bit
 * fields in either byte order, block deletion, duplication and copying, splicing with another
 * entry, dictionary values, and operands of comparisons the code made (an input byte string that
 * equals one operand is replaced with the other, or with it plus or minus one, which finds
 * magic numbers and off-by-one bounds quickly).
 */
final class Mutator {

    private static final long[] INTERESTING = {0, 1, -1, 2, 4, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 512, 1000, 1024,
        4095, 4096, 32767, 32768, 65535, 65536, Integer.MAX_VALUE, Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE};
    private static final int[] WIDTHS = {1, 2, 4, 8};
    private static final int ARITH_MAX = 35;

    private final SplittableRandom random;
    private final Dictionary dictionary;
    private final Comparisons comparisons;
    private final int maxLength;

    Mutator(SplittableRandom random, Dictionary dictionary, Comparisons comparisons, int maxLength) {
        this.random = random;
        this.dictionary = dictionary;
        this.comparisons = comparisons;
        this.maxLength = maxLength;
    }

    byte[] mutate(byte[] parent, List<byte[]> corpus) {
        byte[] b = parent.length == 0 ? new byte[] {(byte) random.nextInt(256)} : parent.clone();
        int steps = 1 << random.nextInt(4);
        for (int i = 0; i < steps; i++) b = step(b, corpus);
        return b.length > maxLength ? Arrays.copyOf(b, maxLength) : b;
    }

    private byte[] step(byte[] b, List<byte[]> corpus) {
        if (b.length == 0) return new byte[] {(byte) random.nextInt(256)};
        return switch (random.nextInt(16)) {
            case 0 -> flipBit(b);
            case 1 -> { b[random.nextInt(b.length)] = (byte) random.nextInt(256); yield b; }
            case 2, 3 -> putNumber(b, INTERESTING[random.nextInt(INTERESTING.length)]);
            case 4, 5 -> arithmetic(b);
            case 6 -> deleteBlock(b);
            case 7 -> insertBlock(b);
            case 8 -> copyBlock(b);
            case 9 -> splice(b, corpus);
            case 10 -> dictionaryNumber(b);
            case 11 -> dictionaryString(b);
            default -> fromComparison(b);
        };
    }

    private byte[] flipBit(byte[] b) {
        int bit = random.nextInt(b.length * 8);
        b[bit >>> 3] ^= (byte) (1 << (bit & 7));
        return b;
    }

    /** Adds or subtracts up to 35 to a field of the input. */
    private byte[] arithmetic(byte[] b) {
        int width = Math.min(WIDTHS[random.nextInt(3)], b.length);
        int at = random.nextInt(b.length - width + 1);
        boolean big = random.nextBoolean();
        long delta = 1 + random.nextInt(ARITH_MAX);
        write(b, at, width, read(b, at, width, big) + (random.nextBoolean() ? delta : -delta), big);
        return b;
    }

    /**
     * Writes a value 1, 2, 4 or 8 bytes wide, in either byte order, at a random place, which may
     * be the end: targets read zeros past the end, so an input grows where a value is wanted.
     */
    private byte[] putNumber(byte[] b, long value) {
        int width = WIDTHS[random.nextInt(WIDTHS.length)];
        int at = random.nextInt(b.length + 1);
        if (at + width > b.length) {
            if (at + width > maxLength) return b;
            b = Arrays.copyOf(b, at + width);
        }
        write(b, at, width, value, random.nextBoolean());
        return b;
    }

    private byte[] deleteBlock(byte[] b) {
        if (b.length < 2) return b;
        int length = 1 + random.nextInt(Math.min(b.length - 1, 64));
        int at = random.nextInt(b.length - length + 1);
        byte[] out = new byte[b.length - length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(b, at + length, out, at, b.length - at - length);
        return out;
    }

    /** Inserts a copy of a block of the input, or a run of one byte. */
    private byte[] insertBlock(byte[] b) {
        int length = 1 + random.nextInt(Math.min(b.length, 64));
        byte[] block;
        if (random.nextBoolean()) {
            int from = random.nextInt(b.length - length + 1);
            block = Arrays.copyOfRange(b, from, from + length);
        } else {
            block = new byte[length];
            Arrays.fill(block, random.nextBoolean() ? b[random.nextInt(b.length)] : (byte) random.nextInt(256));
        }
        return insert(b, random.nextInt(b.length + 1), block);
    }

    private byte[] copyBlock(byte[] b) {
        if (b.length < 2) return b;
        int length = 1 + random.nextInt(Math.min(b.length - 1, 64));
        int from = random.nextInt(b.length - length + 1);
        int to = random.nextInt(b.length - length + 1);
        System.arraycopy(b, from, b, to, length);
        return b;
    }

    /** The head of this input and the tail of another entry, or a block of another entry written over this one. */
    private byte[] splice(byte[] b, List<byte[]> corpus) {
        byte[] other = corpus.get(random.nextInt(corpus.size()));
        if (other.length == 0) return b;
        if (random.nextBoolean()) {
            int cut = random.nextInt(b.length + 1);
            int otherCut = random.nextInt(other.length + 1);
            byte[] out = Arrays.copyOf(b, cut + other.length - otherCut);
            System.arraycopy(other, otherCut, out, cut, other.length - otherCut);
            return out;
        }
        int length = 1 + random.nextInt(Math.min(other.length, b.length));
        int from = random.nextInt(other.length - length + 1);
        System.arraycopy(other, from, b, random.nextInt(b.length - length + 1), length);
        return b;
    }

    private byte[] dictionaryNumber(byte[] b) {
        long[] numbers = dictionary.numbers();
        if (numbers.length == 0) return flipBit(b);
        return putNumber(b, numbers[random.nextInt(numbers.length)]);
    }

    private byte[] dictionaryString(byte[] b) {
        List<byte[]> strings = dictionary.strings();
        if (strings.isEmpty()) return flipBit(b);
        byte[] word = strings.get(random.nextInt(strings.size()));
        if (random.nextBoolean()) return insert(b, random.nextInt(b.length + 1), word);
        if (word.length > b.length) return insert(b, 0, word);
        System.arraycopy(word, 0, b, random.nextInt(b.length - word.length + 1), word.length);
        return b;
    }

    /**
     * Finds one operand of a recorded comparison in the input (1, 2, 4 or 8 bytes, either byte
     * order) and writes the other there, or the other plus or minus one.
     */
    private byte[] fromComparison(byte[] b) {
        long[] pair = comparisons.pick(random);
        if (pair == null) return putNumber(b, INTERESTING[random.nextInt(INTERESTING.length)]);
        boolean swap = random.nextBoolean();
        long find = swap ? pair[1] : pair[0];
        int nudge = random.nextInt(8);
        long replace = (swap ? pair[0] : pair[1]) + (nudge == 0 ? -1 : nudge == 1 ? 1 : 0);
        int width = WIDTHS[random.nextInt(WIDTHS.length)];
        boolean big = random.nextBoolean();
        if (b.length >= width) {
            int start = random.nextInt(b.length - width + 1);
            for (int k = 0; k <= b.length - width; k++) {
                int at = (start + k) % (b.length - width + 1);
                if (read(b, at, width, big) == truncate(find, width)) {
                    write(b, at, width, replace, big);
                    return b;
                }
            }
        }
        return putNumber(b, replace);
    }

    private static long truncate(long value, int width) {
        return width == 8 ? value : value & ((1L << (8 * width)) - 1);
    }

    private static long read(byte[] b, int at, int width, boolean bigEndian) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            int shift = 8 * (bigEndian ? width - 1 - i : i);
            v |= (long) (b[at + i] & 0xFF) << shift;
        }
        return v;
    }

    private static void write(byte[] b, int at, int width, long value, boolean bigEndian) {
        for (int i = 0; i < width; i++) {
            int shift = 8 * (bigEndian ? width - 1 - i : i);
            b[at + i] = (byte) (value >>> shift);
        }
    }

    private byte[] insert(byte[] b, int at, byte[] block) {
        if (b.length + block.length > maxLength) return b;
        byte[] out = new byte[b.length + block.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(block, 0, out, at, block.length);
        System.arraycopy(b, at, out, at + block.length, b.length - at);
        return out;
    }
}
