package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class TensorWireFormatTest {

    @Test
    void layoutIsAsDocumented() {
        byte[] m = TensorWireFormat.encode(Map.of("X", Tensor.ofFloats(new long[] {1, 2}, 1, 2)));
        ByteBuffer b = ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN);
        assertArrayEquals("AETN".getBytes(), Arrays.copyOf(m, 4));
        b.position(4);
        assertEquals(1, b.get());         // version
        assertEquals(0, b.get());         // flags
        assertEquals(1, b.getShort());    // count
        assertEquals(1, b.getShort());    // name length
        assertEquals('X', b.get());
        assertEquals(1, b.get());         // float
        assertEquals(2, b.get());         // rank
        assertEquals(1, b.getLong());
        assertEquals(2, b.getLong());
        assertEquals(8, b.getLong());     // data length
        assertEquals(1.0f, b.getFloat());
        assertEquals(2.0f, b.getFloat());
        assertEquals(0, b.remaining());
    }

    @Test
    void decodesWhatItEncodesInOrder() {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("b", Tensor.ofLongs(new long[] {3}, -1, 0, Long.MAX_VALUE));
        in.put("a", Tensor.ofBooleans(new long[] {2, 1}, true, false));
        in.put("scalar", Tensor.ofDoubles(new long[] {}, Math.PI));
        Map<String, Tensor> out = TensorWireFormat.decode(TensorWireFormat.encode(in));
        assertEquals(in, out);
        assertEquals(List.of("b", "a", "scalar"), List.copyOf(out.keySet()));
    }

    @Test
    void streamsTheSameBytesAndTakesEachTensorFromTheBudget() throws Exception {
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("X", Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3, 4, 5, 6));
        in.put("ids", Tensor.ofLongs(new long[] {2}, 7, 8));
        byte[] whole = TensorWireFormat.encode(in);
        ByteArrayOutputStream streamed = new ByteArrayOutputStream();
        TensorWireFormat.encode(in, streamed);
        assertArrayEquals(whole, streamed.toByteArray());
        assertEquals(whole.length, TensorWireFormat.encodedLength(in));

        ByteBudget budget = new ByteBudget(40, Duration.ZERO);
        try (ByteBudget.Lease lease = budget.lease()) {
            assertEquals(in, TensorWireFormat.decode(new ByteArrayInputStream(whole), whole.length, lease));
            assertEquals(24 + 16, lease.held(), "each tensor's data, nothing more");
        }
        assertEquals(0, budget.used());
        ByteBudget small = new ByteBudget(39, Duration.ZERO);
        try (ByteBudget.Lease lease = small.lease()) {
            assertThrows(ByteBudget.Refused.class,
                    () -> TensorWireFormat.decode(new ByteArrayInputStream(whole), whole.length, lease));
        }
        assertEquals(24, small.peak(), "refused before the second tensor was allocated");
    }

    @Test
    void aDataLengthLongerThanWhatCanFollowTakesNothing() {
        // float[1000000]: 4 MB announced in a message that ends after its header.
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + 1 + 2 + 8 + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.put("AETN".getBytes()).put((byte) 1).put((byte) 0).putShort((short) 1);
        b.putShort((short) 1).put((byte) 'X').put((byte) 1).put((byte) 1).putLong(1_000_000).putLong(4_000_000);
        ByteBudget budget = new ByteBudget(1L << 30, Duration.ZERO);
        try (ByteBudget.Lease lease = budget.lease()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TensorWireFormat.decode(new ByteArrayInputStream(b.array()), b.capacity(), lease));
            assertEquals("tensor 'X': data length 4000000 but only 0 bytes follow", e.getMessage());
        }
        assertEquals(0, budget.peak());
    }

    @Test
    void refusesBadMessagesNamingTheFault() {
        byte[] good = TensorWireFormat.encode(Map.of("X", Tensor.ofFloats(new long[] {2}, 1, 2)));
        assertMessage("tensor 'X': data length 8 but only 7 bytes follow", Arrays.copyOf(good, good.length - 1));
        assertMessage("ends early", Arrays.copyOf(good, 12));
        assertMessage("no AETN magic", new byte[] {'J', 'S', 'O', 'N', 1, 0, 0, 0});
        byte[] trailing = Arrays.copyOf(good, good.length + 1);
        assertMessage("1 bytes after the last tensor", trailing);
        byte[] badType = good.clone();
        badType[8 + 2 + 1] = 8; // string
        assertMessage("tensor 'X': unsupported element type code 8", badType);
        byte[] badLength = good.clone();
        ByteBuffer.wrap(badLength).order(ByteOrder.LITTLE_ENDIAN).putLong(8 + 2 + 1 + 2 + 8, 12);
        assertMessage("tensor 'X': data length 12 does not match float[2] (8 bytes)", badLength);
        byte[] hugeDims = good.clone();
        ByteBuffer.wrap(hugeDims).order(ByteOrder.LITTLE_ENDIAN).putLong(8 + 2 + 1 + 2, 1L << 40);
        assertMessage("larger than 2 GiB", hugeDims);
        byte[] badBool = TensorWireFormat.encode(Map.of("B", Tensor.ofBooleans(new long[] {1}, true)));
        badBool[badBool.length - 1] = 2;
        assertMessage("bool values must be 0 or 1", badBool);
        byte[] version2 = good.clone();
        version2[4] = 2;
        assertMessage("version 2", version2);
    }

    @Test
    void refusesANameWithAControlCharacterWithoutEchoingIt() {
        // Found by TensorCoverageFuzzTest: the name went into the error verbatim, newline and all.
        // Header, one tensor named "a<LF>b" of element type 0, as the fuzzer sent it.
        byte[] m = {'A', 'E', 'T', 'N', 1, 0, 1, 0, 3, 0, 'a', '\n', 'b', 0};
        assertMessage("tensor 0: name has a control or formatting character", m);
        byte[] bidi = {'A', 'E', 'T', 'N', 1, 0, 1, 0, 3, 0, (byte) 0xE2, (byte) 0x80, (byte) 0xAE, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0};
        assertMessage("tensor 0: name has a control or formatting character", bidi);
    }

    @Test
    void refusesDuplicateNames() {
        byte[] one = TensorWireFormat.encode(Map.of("X", Tensor.ofFloats(new long[] {1}, 1)));
        int tensorLength = one.length - 8;
        byte[] two = Arrays.copyOf(one, one.length + tensorLength);
        System.arraycopy(one, 8, two, one.length, tensorLength);
        two[6] = 2;
        assertMessage("tensor 'X' appears twice", two);
    }

    private static void assertMessage(String part, byte[] message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TensorWireFormat.decode(message));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    private static Gen<Tensor> tensors() {
        Gen<long[]> shapes = Gen.lists(Gen.longs(0, 4), 0, 3).map(dims -> dims.stream().mapToLong(Long::longValue).toArray());
        Gen<ElementType> types = Gen.choose(ElementType.values());
        return random -> {
            ElementType type = types.next(random);
            long[] shape = shapes.next(random);
            byte[] data = new byte[(int) (Tensor.elementCount(type, shape) * type.byteSize())];
            random.nextBytes(data);
            if (type == ElementType.BOOL) {
                for (int i = 0; i < data.length; i++) {
                    data[i] &= 1;
                }
            }
            return Tensor.of(type, shape, data);
        };
    }

    @Test
    void roundTripsAnyTensors() {
        Property.forAll(Gen.lists(tensors(), 0, 5)).check(tensors -> {
            Map<String, Tensor> in = new LinkedHashMap<>();
            for (int i = 0; i < tensors.size(); i++) {
                in.put("t" + i, tensors.get(i));
            }
            assertEquals(in, TensorWireFormat.decode(TensorWireFormat.encode(in)));
        });
    }

    /**
     * Hostile bytes: the decoder answers with IllegalArgumentException, or with tensors that
     * encode back to exactly the same bytes (the format has one encoding per content).
     */
    @Test
    void arbitraryBytesNeverEscapeAsOtherExceptions() {
        // Up to 255 bytes of noise, alone or behind a valid header.
        Property.forAll(Gen.bytes(0, 255), Gen.booleans()).tries(2000).check((noise, withHeader) -> {
            byte[] message = noise;
            if (withHeader) {
                message = new byte[noise.length + 8];
                System.arraycopy(new byte[] {'A', 'E', 'T', 'N', 1, 0, 1, 0}, 0, message, 0, 8);
                System.arraycopy(noise, 0, message, 8, noise.length);
            }
            try {
                Map<String, Tensor> out = TensorWireFormat.decode(message);
                assertArrayEquals(message, TensorWireFormat.encode(out));
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
            }
        });
    }
}
