package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.testkit.fuzz.FuzzInput;
import io.aether.testkit.fuzz.Fuzzer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Coverage-guided fuzz targets for the two request formats of the inference server: the binary
 * tensor format ({@link TensorWireFormat#decode}) and JSON predict bodies (the parser's entry
 * point, bound to a signature). A bad body may only be refused with a reason: one line for a
 * binary message ({@link IllegalArgumentException}), {@link InferenceException} INVALID_INPUT for
 * JSON; a binary message that decodes encodes back to the same bytes, and JSON inputs that are
 * bound and pass the server's validation are tensors of the signature's types and ranks.
 */
@Timeout(120)
class TensorCoverageFuzzTest {

    static final ModelSignature SIGNATURE = new ModelSignature(
            List.of(new TensorSpec("X", ElementType.FLOAT, List.of(Dim.symbolic("N"), Dim.of(3))),
                    new TensorSpec("ids", ElementType.INT64, List.of(Dim.symbolic("N"), Dim.dynamic())),
                    new TensorSpec("mask", ElementType.BOOL, List.of(Dim.of(2))),
                    new TensorSpec("h", ElementType.FLOAT16, List.of(Dim.of(2)))),
            List.of(new TensorSpec("Y", ElementType.FLOAT, List.of(Dim.symbolic("N")))));

    @Test
    void binary() {
        Fuzzer.target(getClass(), "binary").maxLength(8 << 10).run();
    }

    @Test
    void json() {
        Fuzzer.target(getClass(), "json").maxLength(8 << 10).run();
    }

    static void binary(FuzzInput in) {
        byte[] message = in.consumeRemaining();
        Map<String, Tensor> tensors;
        try {
            tensors = TensorWireFormat.decode(message);
        } catch (IllegalArgumentException refused) {
            assertOneLine(refused.getMessage());
            return;
        }
        assertArrayEquals(message, TensorWireFormat.encode(tensors), "a decoded message encodes back to its bytes");
    }

    static void json(FuzzInput in) {
        Map<String, Tensor> bound;
        try {
            bound = JsonTensors.parse(in.consumeRemaining(), SIGNATURE);
            InputValidator.validate(SIGNATURE, bound);
        } catch (InferenceException refused) {
            // The message may quote a string of the body, line breaks included: it goes back to its sender.
            assertEquals(InferenceException.Reason.INVALID_INPUT, refused.reason(), refused.getMessage());
            assertTrue(refused.getMessage() != null && !refused.getMessage().isBlank(), "a reason");
            return;
        }
        for (Map.Entry<String, Tensor> e : bound.entrySet()) {
            TensorSpec spec = SIGNATURE.input(e.getKey()).orElseThrow(() -> new AssertionError("bound an unknown input " + e.getKey()));
            Tensor t = e.getValue();
            assertEquals(spec.type(), t.type(), e.getKey());
            assertEquals(spec.shape().size(), t.rank(), e.getKey());
            assertEquals(t.elementCount() * t.type().byteSize(), t.byteLength(), e.getKey());
        }
    }

    private static void assertOneLine(String message) {
        assertTrue(message != null && !message.isBlank() && !message.contains("\n"), "one line: " + message);
    }

    /** Float, int64, bool and float16 tensors, one of them a scalar: the seed of the binary target. */
    static byte[] seedMessage() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("X", Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3, 4.5f, 5, 6));
        t.put("ids", Tensor.ofLongs(new long[] {1, 2}, 9007199254740993L, -1));
        t.put("mask", Tensor.ofBooleans(new long[] {2}, true, false));
        t.put("scale", Tensor.ofDoubles(new long[] {}, 0.5));
        return TensorWireFormat.encode(t);
    }

    static final String SEED_JSON = "{\"inputs\": {\"X\": {\"shape\": [2, 3], \"data\": [1, 2, 3, 4.5, 5, 6e-1]},"
            + " \"ids\": [[9007199254740993, -1], [0, 7]], \"mask\": [true, false], \"h\": [1.5, \"-Infinity\"]}}";

    @Test
    void aTruncatedUtf32BodyIsMalformedJsonNotAnInternalError() {
        // Found by the json target: Jackson reads 00 00 00 xx as UTF-32 and fails with a
        // CharConversionException, which escaped as UncheckedIOException (a 500 with a stack trace).
        InferenceException e = org.junit.jupiter.api.Assertions.assertThrows(InferenceException.class,
                () -> JsonTensors.parse(new byte[] {0, 0, 0, (byte) 0xFF, 0}, SIGNATURE));
        assertEquals(InferenceException.Reason.INVALID_INPUT, e.reason());
        assertTrue(e.getMessage().startsWith("malformed JSON: "), e.getMessage());
    }

    @Test
    void seedsAreAcceptedWhole() throws Exception {
        binary(new FuzzInput(seedMessage()));
        assertEquals(4, TensorWireFormat.decode(seedMessage()).size());
        json(new FuzzInput(SEED_JSON.getBytes(StandardCharsets.UTF_8)));
        assertEquals(4, JsonTensors.parse(SEED_JSON.getBytes(StandardCharsets.UTF_8), SIGNATURE).size());
    }
}
