package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void floatsAreStoredLittleEndianRowMajor() {
        Tensor t = Tensor.ofFloats(new long[] {1, 2}, 1.0f, -2.0f);
        // 1.0f = 0x3F800000, -2.0f = 0xC0000000, least significant byte first
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F, 0, 0, 0, (byte) 0xC0}, t.bytes());
        assertEquals("float[1,2]", t.describe());
        assertEquals(2, t.elementCount());
    }

    @Test
    void dataLengthMustMatchShape() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3));
        assertEquals("shape [2,3] needs 6 values, got 3", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(ElementType.INT64, new long[] {2}, new byte[15]));
    }

    @Test
    void negativeHugeAndTooDeepShapesAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(ElementType.FLOAT, new long[] {-1}));
        IllegalArgumentException huge = assertThrows(IllegalArgumentException.class,
                () -> Tensor.elementCount(ElementType.FLOAT, new long[] {1 << 20, 1 << 20}));
        assertTrue(huge.getMessage().contains("larger than 2 GiB"), huge.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(ElementType.FLOAT, new long[17]));
    }

    @Test
    void defensiveCopies() {
        long[] shape = {3};
        byte[] data = {1, 2, 3};
        Tensor t = Tensor.of(ElementType.UINT8, shape, data);
        shape[0] = 1;
        data[0] = 9;
        assertArrayEquals(new long[] {3}, t.shape());
        assertEquals(1, t.bytes()[0]);
        t.shape()[0] = 7;
        assertEquals(3, t.dim(0));
    }

    @Test
    void equalityIsByValue() {
        assertEquals(Tensor.ofLongs(new long[] {2}, 1, 2), Tensor.ofLongs(new long[] {2}, 1, 2));
        assertNotEquals(Tensor.ofLongs(new long[] {2}, 1, 2), Tensor.ofLongs(new long[] {1, 2}, 1, 2));
        assertNotEquals(Tensor.ofInts(new long[] {2}, 0, 0), Tensor.ofFloats(new long[] {2}, 0, 0));
    }

    @Test
    void typedReadersRefuseOtherTypes() {
        assertThrows(IllegalStateException.class, () -> Tensor.ofLongs(new long[] {1}, 1).toFloats());
    }

    @Test
    void floatsRoundTrip() {
        Property.forAll(floatArrays(0, 64)).check(values -> {
            Tensor t = Tensor.ofFloats(new long[] {values.length}, values);
            assertArrayEquals(values, t.toFloats());
        });
    }

    @Test
    void longsRoundTrip() {
        Property.forAll(longArrays(0, 64)).check(values ->
                assertArrayEquals(values, Tensor.ofLongs(new long[] {values.length}, values).toLongs()));
    }

    /** Arrays of any floats, NaN and the infinities included. */
    static Gen<float[]> floatArrays(int minLength, int maxLength) {
        return Gen.lists(Gen.floats(), minLength, maxLength).map(list -> {
            float[] out = new float[list.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = list.get(i);
            }
            return out;
        });
    }

    /** Arrays of any longs. */
    static Gen<long[]> longArrays(int minLength, int maxLength) {
        return Gen.lists(Gen.longs(), minLength, maxLength).map(list -> list.stream().mapToLong(Long::longValue).toArray());
    }
}
