package io.aether.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link GuestMemory} against {@link MemoryModel}, an oracle written apart from it: every kind of
 * access, at every region's edges and at random, must give what the model gives, be refused with
 * a {@link GuestMemoryException} exactly when the model refuses, and leave memory as the model
 * has it. A bounds bug that hangs fails on the timeout (its own thread, so a spinning loop
 * cannot hold the test up).
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GuestMemoryOracleTest {

    private static final long PAGE = RegionSpec.PAGE_SIZE;
    /** The highest page-aligned base for a 4-page region: it ends at 0x7FFF_FFFF_FFFF_F000. */
    private static final long TOP_BASE = (Long.MAX_VALUE & -PAGE) - 4 * PAGE;
    /** Two adjacent regions, a gap, read-write then read-only then read-write, and one at the top of the address space. */
    private static final List<RegionSpec> LAYOUT = List.of(
            RegionSpec.ram(0, 4 * PAGE),
            RegionSpec.ram(4 * PAGE, 4 * PAGE),
            RegionSpec.ram(12 * PAGE, 2 * PAGE),
            new RegionSpec(14 * PAGE, 2 * PAGE, true),
            RegionSpec.ram(16 * PAGE, 2 * PAGE),
            RegionSpec.ram(TOP_BASE, 4 * PAGE));
    /** The longest byte array an access copies (more than any two adjacent regions). */
    private static final int ARRAY_CAP = 10 * (int) PAGE;

    /** The single-value accesses first: an edge bug shows in one of them before a range walk can spin. */
    enum Op {
        READ_BYTE(false), READ_SHORT(false), READ_INT(false), READ_LONG(false), WRITE_BYTE(true), WRITE_SHORT(true),
        WRITE_INT(true), WRITE_LONG(true), READ_SHORT_ACQUIRE(false), WRITE_SHORT_RELEASE(true), SLICE(false),
        SLICE_FOR_WRITE(true), CONTAINS(false), READ(false), READ_INTO(false), WRITE(true), FILL(true);

        final boolean writes;

        Op(boolean writes) {
            this.writes = writes;
        }
    }

    /** One access; {@code value} is what a write writes (or the seed of its bytes). */
    record Access(Op op, long gpa, long length, long value) {
        @Override
        public String toString() {
            return op + "(0x" + Long.toHexString(gpa) + ", " + length + ")";
        }
    }

    /** Guest memory and its model, with the same contents. */
    private record Pair(GuestMemory memory, MemoryModel model) implements AutoCloseable {
        static Pair seeded(long seed) {
            GuestMemory memory = GuestMemory.anonymous(LAYOUT);
            MemoryModel model = new MemoryModel(LAYOUT);
            SplittableRandom random = new SplittableRandom(seed);
            for (int i = 0; i < LAYOUT.size(); i++) {
                byte[] bytes = model.contents(i);
                random.nextBytes(bytes);
                MemorySegment.copy(bytes, 0, memory.regions().get(i).host(), ValueLayout.JAVA_BYTE, 0, bytes.length);
            }
            return new Pair(memory, model);
        }

        void check(Access a) {
            String expected = expected(model, a);
            if (expected == null) return; // not an access this API can express (an array that size)
            assertEquals(expected, actual(memory, a), a.toString());
            if (a.op().writes) sameContents(a);
        }

        private void sameContents(Access after) {
            for (int i = 0; i < LAYOUT.size(); i++) {
                byte[] want = model.contents(i);
                long at = MemorySegment.mismatch(memory.regions().get(i).host(), 0, want.length,
                        MemorySegment.ofArray(want), 0, want.length);
                if (at >= 0) fail("after " + after + ": guest memory differs from the model at 0x" + Long.toHexString(LAYOUT.get(i).guestBase() + at));
            }
        }

        @Override
        public void close() {
            memory.close();
        }
    }

    private static boolean fitsAnArray(long length) {
        return length >= 0 && length <= ARRAY_CAP;
    }

    private static byte[] bytesFor(Access a) {
        byte[] b = new byte[(int) a.length()];
        new SplittableRandom(a.value()).nextBytes(b);
        return b;
    }

    /** What the model says, or null when the API cannot take the access. */
    private static String expected(MemoryModel model, Access a) {
        long gpa = a.gpa();
        long length = a.length();
        return switch (a.op()) {
            case CONTAINS -> String.valueOf(model.covers(gpa, length));
            case READ -> length == (int) length ? model.read(gpa, length) : null;
            case READ_INTO -> fitsAnArray(length) ? model.read(gpa, length) : null;
            case WRITE -> fitsAnArray(length) ? model.write(gpa, bytesFor(a)) : null;
            case READ_BYTE -> model.readValue(gpa, 1);
            case READ_SHORT -> model.readValue(gpa, 2);
            case READ_INT -> model.readValue(gpa, 4);
            case READ_LONG -> model.readValue(gpa, 8);
            case WRITE_BYTE -> model.writeValue(gpa, 1, a.value());
            case WRITE_SHORT -> model.writeValue(gpa, 2, a.value());
            case WRITE_INT -> model.writeValue(gpa, 4, a.value());
            case WRITE_LONG -> model.writeValue(gpa, 8, a.value());
            case SLICE -> model.slice(gpa, length);
            case SLICE_FOR_WRITE -> model.sliceForWrite(gpa, length, (byte) a.value());
            case FILL -> model.fill(gpa, length, (byte) a.value());
            case READ_SHORT_ACQUIRE -> model.readShortAcquire(gpa);
            case WRITE_SHORT_RELEASE -> model.writeShortRelease(gpa, (short) a.value());
        };
    }

    /** What guest memory does; a refusal must be a GuestMemoryException, anything else fails the test. */
    private static String actual(GuestMemory m, Access a) {
        long gpa = a.gpa();
        long length = a.length();
        HexFormat hex = HexFormat.of();
        try {
            return switch (a.op()) {
                case CONTAINS -> String.valueOf(m.contains(gpa, length));
                case READ -> hex.formatHex(m.read(gpa, (int) length));
                case READ_INTO -> {
                    byte[] into = new byte[(int) length + 2];
                    m.read(gpa, into, 1, (int) length);
                    yield hex.formatHex(into, 1, 1 + (int) length);
                }
                case WRITE -> {
                    m.write(gpa, bytesFor(a));
                    yield "written";
                }
                case READ_BYTE -> Long.toHexString(Byte.toUnsignedLong(m.readByte(gpa)));
                case READ_SHORT -> Long.toHexString(Short.toUnsignedLong(m.readShort(gpa)));
                case READ_INT -> Long.toHexString(Integer.toUnsignedLong(m.readInt(gpa)));
                case READ_LONG -> Long.toHexString(m.readLong(gpa));
                case WRITE_BYTE -> {
                    m.writeByte(gpa, (byte) a.value());
                    yield "written";
                }
                case WRITE_SHORT -> {
                    m.writeShort(gpa, (short) a.value());
                    yield "written";
                }
                case WRITE_INT -> {
                    m.writeInt(gpa, (int) a.value());
                    yield "written";
                }
                case WRITE_LONG -> {
                    m.writeLong(gpa, a.value());
                    yield "written";
                }
                case SLICE -> hex.formatHex(m.slice(gpa, length).toArray(ValueLayout.JAVA_BYTE));
                case SLICE_FOR_WRITE -> {
                    MemorySegment s = m.sliceForWrite(gpa, length);
                    s.fill((byte) a.value());
                    yield hex.formatHex(s.toArray(ValueLayout.JAVA_BYTE));
                }
                case FILL -> {
                    m.fill(gpa, length, (byte) a.value());
                    yield "written";
                }
                case READ_SHORT_ACQUIRE -> Long.toHexString(Short.toUnsignedLong(m.readShortAcquire(gpa)));
                case WRITE_SHORT_RELEASE -> {
                    m.writeShortRelease(gpa, (short) a.value());
                    yield "written";
                }
            };
        } catch (GuestMemoryException refused) {
            return MemoryModel.REFUSED;
        }
    }

    /** Each region's first and one-past-last address. */
    private static List<Long> edges() {
        List<Long> edges = new ArrayList<>();
        for (RegionSpec r : LAYOUT) {
            edges.add(r.guestBase());
            edges.add(r.end());
        }
        return edges;
    }

    @Test
    void everyAccessAtEveryEdgeAgreesWithTheModel() {
        TreeSet<Long> addresses = new TreeSet<>(List.of(Long.MIN_VALUE, -1L, Long.MAX_VALUE, Long.MAX_VALUE - 1, Long.MAX_VALUE - 7));
        for (long edge : edges()) {
            for (long d : new long[] {-9, -8, -2, -1, 0, 1, 2, 7, 8}) addresses.add(edge + d);
        }
        List<Long> fixedLengths = List.of(0L, 1L, 2L, 3L, 4L, 7L, 8L, 9L, PAGE, 2 * PAGE - 1, 2 * PAGE, 2 * PAGE + 1,
                4 * PAGE - 1, 4 * PAGE, 4 * PAGE + 1, 8 * PAGE, 8 * PAGE + 1, (long) Integer.MAX_VALUE,
                (long) Integer.MIN_VALUE, -1L, Long.MAX_VALUE, Long.MIN_VALUE);
        long checked = 0;
        try (Pair pair = Pair.seeded(1)) {
            for (Op op : Op.values()) {
                for (long gpa : addresses) {
                    TreeSet<Long> lengths = new TreeSet<>(fixedLengths);
                    for (long edge : edges()) {
                        // Up to each edge exactly, and one byte past it.
                        lengths.add(edge - gpa);
                        lengths.add(edge - gpa + 1);
                    }
                    lengths.add(Long.MAX_VALUE - gpa + 1); // gpa + length overflows
                    lengths.add(Long.MAX_VALUE - gpa + 2);
                    for (long length : lengths) {
                        pair.check(new Access(op, gpa, length, gpa * 31 + length + op.ordinal()));
                        checked++;
                    }
                }
            }
        }
        assertTrue(checked > 50_000, checked + " accesses checked");
    }

    @Test
    void randomAccessesAgreeWithTheModel() {
        List<Long> edges = edges();
        Gen<Long> nearAnEdge = r -> edges.get(r.nextInt(edges.size())) + r.nextInt(-16, 17);
        Gen<Long> addresses = Gen.oneOf(nearAnEdge, Gen.longs(-PAGE, 20 * PAGE), Gen.longs(TOP_BASE - PAGE, Long.MAX_VALUE), Gen.longs());
        Gen<Long> lengths = Gen.oneOf(Gen.longs(0, 16), Gen.longs(0, 9 * PAGE), Gen.longs(), r -> (long) r.nextInt(-2, 3));
        Gen<Access> accesses = r -> {
            long gpa = addresses.next(r);
            long length = r.nextInt(4) == 0 ? edges.get(r.nextInt(edges.size())) - gpa + r.nextInt(-1, 2) : lengths.next(r);
            return new Access(Op.values()[r.nextInt(Op.values().length)], gpa, length, r.nextLong());
        };
        Property.forAll(Gen.longs(), Gen.lists(accesses, 1, 60)).tries(300).check((seed, run) -> {
            try (Pair pair = Pair.seeded(seed)) {
                for (Access a : run) pair.check(a);
            }
        });
    }
}
