package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.testkit.Property;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class JsonTensorsTest {

    private static final ModelSignature SIG = new ModelSignature(
            List.of(new TensorSpec("X", ElementType.FLOAT, List.of(Dim.symbolic("N"), Dim.of(3))),
                    new TensorSpec("ids", ElementType.INT64, List.of(Dim.symbolic("N"), Dim.dynamic())),
                    new TensorSpec("small", ElementType.UINT8, List.of(Dim.of(2))),
                    new TensorSpec("mask", ElementType.BOOL, List.of(Dim.of(2))),
                    new TensorSpec("h", ElementType.FLOAT16, List.of(Dim.of(2))),
                    new TensorSpec("bf", ElementType.BFLOAT16, List.of(Dim.of(1)))),
            List.of(new TensorSpec("Y", ElementType.FLOAT, List.of(Dim.symbolic("N")))));

    private static Map<String, Tensor> bind(String json) throws InferenceException {
        return JsonTensors.parse(json.getBytes(StandardCharsets.UTF_8), SIG);
    }

    private static byte[] write(Prediction p) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        JsonTensors.writePrediction(p, out);
        return out.toByteArray();
    }

    private static InferenceException refused(String json) {
        return assertThrows(InferenceException.class, () -> bind(json));
    }

    @Test
    void flatDataWithShape() throws Exception {
        Tensor x = bind("{\"inputs\": {\"X\": {\"shape\": [2, 3], \"data\": [1, 2, 3, 4.5, 5, 6]}}}").get("X");
        assertEquals(Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3, 4.5f, 5, 6), x);
    }

    @Test
    void nestedDataGivesTheShape() throws Exception {
        Tensor x = bind("{\"inputs\": {\"X\": [[1, 2, 3], [4, 5, 6]]}}").get("X");
        assertEquals(Tensor.ofFloats(new long[] {2, 3}, 1, 2, 3, 4, 5, 6), x);
        Tensor y = bind("{\"inputs\": {\"X\": {\"data\": [[1, 2, 3]], \"type\": \"float\"}}}").get("X");
        assertArrayEquals(new long[] {1, 3}, y.shape());
        Tensor empty = bind("{\"inputs\": {\"ids\": [[], []]}}").get("ids");
        assertArrayEquals(new long[] {2, 0}, empty.shape());
    }

    @Test
    void numbersTakeTheModelsTypes() throws Exception {
        Map<String, Tensor> t = bind("{\"inputs\": {\"ids\": [[9007199254740993, -1]], \"small\": [0, 255],"
                + " \"mask\": [true, false], \"h\": [1.5, \"-Infinity\"], \"bf\": [3.0]}}");
        assertArrayEquals(new long[] {9007199254740993L, -1}, t.get("ids").toLongs()); // above 2^53: exact
        assertArrayEquals(new byte[] {0, (byte) 255}, t.get("small").bytes());
        assertArrayEquals(new byte[] {1, 0}, t.get("mask").bytes());
        short[] halves = new short[2];
        t.get("h").buffer().asShortBuffer().get(halves);
        assertEquals(1.5f, Float.float16ToFloat(halves[0]));
        assertEquals(Float.NEGATIVE_INFINITY, Float.float16ToFloat(halves[1]));
        assertEquals(3.0f, JsonTensors.fromBfloat16(t.get("bf").buffer().getShort()));
    }

    @Test
    void refusalsNameTheInput() {
        InferenceException fraction = refused("{\"inputs\": {\"ids\": [[1, 2.5]]}}");
        assertEquals("input 'ids': value 2.5 at index 1 is not an int64", fraction.getMessage());
        assertEquals("ids", fraction.input().orElseThrow());
        assertEquals("input 'small': value 256 at index 1 is out of range for uint8",
                refused("{\"inputs\": {\"small\": [1, 256]}}").getMessage());
        assertEquals("input 'X': shape [2,3] needs 6 values, got 5",
                refused("{\"inputs\": {\"X\": {\"shape\": [2, 3], \"data\": [1, 2, 3, 4, 5]}}}").getMessage());
        assertEquals("input 'X': expected element type float, got int64",
                refused("{\"inputs\": {\"X\": {\"type\": \"int64\", \"data\": [[1, 2, 3]]}}}").getMessage());
        assertTrue(refused("{\"inputs\": {\"X\": [[1, 2, 3], [4, 5]]}}").getMessage().startsWith("input 'X': nested arrays are ragged"));
        assertTrue(refused("{\"inputs\": {\"X\": [[1, 2, 3], 4]}}").getMessage().contains("ragged"));
        assertTrue(refused("{\"inputs\": {\"X\": [1, [2, 3]]}}").getMessage().contains("ragged"));
        assertEquals("input 'X': value at index 0 is a boolean, but the input is float",
                refused("{\"inputs\": {\"X\": [[true, 1, 2]]}}").getMessage());
        assertEquals("input 'mask' is bool: use true/false (or 0/1)",
                refused("{\"inputs\": {\"mask\": [1, 2]}}").getMessage());
        assertEquals("input 'X': value 'a' at index 0 is not a number",
                refused("{\"inputs\": {\"X\": [[\"a\", 1, 2]]}}").getMessage());
        assertEquals("unknown input 'Z'; the model's inputs are: X, ids, small, mask, h, bf",
                refused("{\"inputs\": {\"Z\": [1]}}").getMessage());
        assertEquals("input 'X' appears twice", refused("{\"inputs\": {\"X\": [1], \"X\": [2]}}").getMessage());
        assertEquals("input 'X': unknown field 'dims'; expected shape, data, type",
                refused("{\"inputs\": {\"X\": {\"dims\": [1], \"data\": [1]}}}").getMessage());
    }

    @Test
    void malformedRequestsAreRefused() {
        assertTrue(refused("{\"inputs\": {\"X\": [1, 2").getMessage().startsWith("malformed JSON"));
        assertTrue(refused("not json").getMessage().startsWith("malformed JSON"));
        assertEquals("request body must be a JSON object like {\"inputs\": {...}}", refused("[1]").getMessage());
        assertEquals("unknown field 'input' in the request; expected 'inputs'", refused("{\"input\": {}}").getMessage());
        assertEquals("the request has no 'inputs'", refused("{}").getMessage());
        assertEquals("unexpected content after the request object", refused("{\"inputs\": {}} {}").getMessage());
        String deep = "[".repeat(40) + "1" + "]".repeat(40);
        assertEquals("input 'X': arrays nested deeper than rank 16",
                refused("{\"inputs\": {\"X\": " + deep + "}}").getMessage());
    }

    /** Parses through a budget of {@code capacity} bytes; returns the budget to look at what was taken. */
    private static ByteBudget parseWithin(long capacity, String json, Class<? extends Exception> expected, String message)
            throws Exception {
        ByteBudget budget = new ByteBudget(capacity, Duration.ZERO);
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        try (ByteBudget.Lease lease = budget.lease()) {
            Exception e = assertThrows(expected, () -> JsonTensors.parse(new ByteArrayInputStream(body), body.length, SIG, lease));
            assertEquals(message, e.getMessage());
        }
        assertEquals(0, budget.used(), "everything taken is given back");
        return budget;
    }

    private static String values(int n) {
        return "1, ".repeat(n - 1) + "1";
    }

    @Test
    void aDeclaredShapeSizesTheBufferAndOneValueMoreIsRefusedAtOnce() throws Exception {
        // A million values after "shape": [1, 3]: refused at the fourth, with no more than the 12 bytes of float[1,3] taken.
        ByteBudget b = parseWithin(12, "{\"inputs\": {\"X\": {\"shape\": [1, 3], \"data\": [" + values(1_000_000) + "]}}}",
                InferenceException.class, "input 'X': shape [1,3] needs 3 values, got more");
        assertEquals(12, b.peak());
        // The model's own fixed shape does the same when the request declares none: uint8[2].
        ByteBudget fixed = parseWithin(2, "{\"inputs\": {\"small\": [" + values(1_000_000) + "]}}",
                InferenceException.class, "input 'small': expected shape [2] needs 2 values, got more");
        assertEquals(2, fixed.peak());
    }

    @Test
    void shapeMismatchesAreRefusedBeforeAnyBufferIsTaken() throws Exception {
        String data = "[" + values(1000) + "]";
        assertEquals(0, parseWithin(1 << 20, "{\"inputs\": {\"X\": {\"shape\": [1, 4], \"data\": " + data + "}}}",
                InferenceException.class, "input 'X': expected shape [N,3], got [1,4]").peak());
        assertEquals(0, parseWithin(1 << 20, "{\"inputs\": {\"X\": {\"shape\": [3], \"data\": " + data + "}}}",
                InferenceException.class, "input 'X': expected shape [N,3], got [3]").peak());
        assertEquals(0, parseWithin(1 << 20, "{\"inputs\": {\"X\": {\"type\": \"double\", \"data\": " + data + "}}}",
                InferenceException.class, "input 'X': expected element type float, got double").peak());
        assertEquals(0, parseWithin(1 << 20, "{\"inputs\": {\"Z\": " + data + "}}",
                InferenceException.class, "unknown input 'Z'; the model's inputs are: X, ids, small, mask, h, bf").peak());
        // A shape that a body this small could never fill takes nothing either (the body is 62 bytes).
        String tiny = "{\"inputs\": {\"X\": {\"shape\": [100000000, 3], \"data\": [1]}}}";
        assertEquals(0, parseWithin(1L << 32, tiny, InferenceException.class, "input 'X': shape [100000000,3] needs"
                + " 300000000 values, more than a body of " + tiny.length() + " bytes can hold").peak());
    }

    @Test
    void aBufferTheBudgetCannotHoldIsRefusedByTheBudgetNotAllocated() throws Exception {
        ByteBudget b = parseWithin(11, "{\"inputs\": {\"X\": {\"shape\": [1, 3], \"data\": [1, 2, 3]}}}",
                ByteBudget.Refused.class, "request needs more than the server's in-flight budget of 11 bytes");
        assertEquals(0, b.peak());
        assertEquals(1, b.refusals());
    }

    @Test
    void dataWithoutADeclaredSizeGrowsWithinTheBudgetAndKeepsOnlyWhatItHolds() throws Exception {
        int rows = 5000;
        StringBuilder json = new StringBuilder("{\"inputs\": {\"X\": [");
        float[] expected = new float[rows * 3];
        for (int r = 0; r < rows; r++) {
            json.append(r > 0 ? ", " : "").append('[').append(r).append(", 0.5, -").append(r).append(']');
            expected[3 * r] = r;
            expected[3 * r + 1] = 0.5f;
            expected[3 * r + 2] = -r;
        }
        byte[] body = json.append("]}}").toString().getBytes(StandardCharsets.UTF_8);
        ByteBudget budget = new ByteBudget(1 << 20, Duration.ZERO);
        try (ByteBudget.Lease lease = budget.lease()) {
            Tensor x = JsonTensors.parse(new ByteArrayInputStream(body), body.length, SIG, lease).get("X");
            assertEquals(Tensor.ofFloats(new long[] {rows, 3}, expected), x);
            assertEquals(rows * 3 * 4, lease.held(), "the request holds exactly its tensor");
            // Growth by doubling from 1024 values: at most the final buffer and the one before it at once.
            assertTrue(budget.peak() <= 3L * rows * 3 * 4, "peak " + budget.peak());
        }
        assertEquals(0, budget.used());
    }

    @Test
    void stringsLongerThanAnyNameAreRefusedAsMalformed() {
        String longName = "a".repeat(JsonTensors.MAX_STRING + 1);
        assertTrue(refused("{\"inputs\": {\"" + longName + "\": [1]}}").getMessage().startsWith("malformed JSON"));
        assertTrue(refused("{\"inputs\": {\"X\": {\"type\": \"" + longName + "\", \"data\": [1]}}}").getMessage()
                .startsWith("malformed JSON"));
    }

    @Test
    void writesPredictionsWithShapesAndNonFiniteStrings() throws Exception {
        Prediction p = new Prediction("m", "v1", Map.of("Y", Tensor.ofFloats(new long[] {1, 3}, 0.1f, Float.NaN,
                Float.POSITIVE_INFINITY)));
        JsonNode root = new ObjectMapper().readTree(write(p));
        assertEquals("v1", root.get("version").asText());
        JsonNode y = root.get("outputs").get("Y");
        assertEquals("float", y.get("type").asText());
        assertEquals("[1,3]", y.get("shape").toString());
        assertEquals("[0.1,\"NaN\",\"Infinity\"]", y.get("data").toString());
    }

    /** What the endpoint writes, it reads back to the same tensor. */
    @Test
    void floatOutputsReadBackExactly() {
        Property.forAll(TensorTest.floatArrays(1, 32)).check(values -> {
            Tensor t = Tensor.ofFloats(new long[] {1, values.length}, values);
            byte[] json = write(new Prediction("m", "v", Map.of("X", t)));
            String request = "{\"inputs\": " + new ObjectMapper().readTree(json).get("outputs") + "}";
            ModelSignature sig = new ModelSignature(
                    List.of(new TensorSpec("X", ElementType.FLOAT, List.of(Dim.of(1), Dim.dynamic()))), SIG.outputs());
            Tensor back = JsonTensors.parse(request.getBytes(StandardCharsets.UTF_8), sig).get("X");
            assertArrayEquals(t.shape(), back.shape());
            assertArrayEquals(values, back.toFloats()); // NaN payloads aside, bit for bit
        });
    }

    @Test
    void longOutputsReadBackExactly() {
        Property.forAll(TensorTest.longArrays(1, 32)).check(values -> {
            Tensor t = Tensor.ofLongs(new long[] {1, values.length}, values);
            byte[] json = write(new Prediction("m", "v", Map.of("ids", t)));
            String request = "{\"inputs\": " + new ObjectMapper().readTree(json).get("outputs") + "}";
            assertEquals(t, JsonTensors.parse(request.getBytes(StandardCharsets.UTF_8), SIG).get("ids"));
        });
    }

    @Test
    void bfloat16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, JsonTensors.toBfloat16(1.0f));
        // 1 + 2^-8 lies exactly between two bfloat16 values: ties go to the even one (1.0)
        assertEquals((short) 0x3F80, JsonTensors.toBfloat16(Float.intBitsToFloat(0x3F808000)));
        assertEquals((short) 0x3F82, JsonTensors.toBfloat16(Float.intBitsToFloat(0x3F818000)));
        assertTrue(Float.isNaN(JsonTensors.fromBfloat16(JsonTensors.toBfloat16(Float.NaN))));
    }
}
