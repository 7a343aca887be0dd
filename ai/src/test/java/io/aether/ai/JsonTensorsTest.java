package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.testkit.Property;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

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
        return JsonTensors.parseRequest(json.getBytes(StandardCharsets.UTF_8)).bind(SIG);
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

    @Test
    void writesPredictionsWithShapesAndNonFiniteStrings() throws Exception {
        Prediction p = new Prediction("m", "v1", Map.of("Y", Tensor.ofFloats(new long[] {1, 3}, 0.1f, Float.NaN,
                Float.POSITIVE_INFINITY)));
        JsonNode root = new ObjectMapper().readTree(JsonTensors.writePrediction(p));
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
            byte[] json = JsonTensors.writePrediction(new Prediction("m", "v", Map.of("X", t)));
            String request = "{\"inputs\": " + new ObjectMapper().readTree(json).get("outputs") + "}";
            ModelSignature sig = new ModelSignature(
                    List.of(new TensorSpec("X", ElementType.FLOAT, List.of(Dim.of(1), Dim.dynamic()))), SIG.outputs());
            Tensor back = JsonTensors.parseRequest(request.getBytes(StandardCharsets.UTF_8)).bind(sig).get("X");
            assertArrayEquals(t.shape(), back.shape());
            assertArrayEquals(values, back.toFloats()); // NaN payloads aside, bit for bit
        });
    }

    @Test
    void longOutputsReadBackExactly() {
        Property.forAll(TensorTest.longArrays(1, 32)).check(values -> {
            Tensor t = Tensor.ofLongs(new long[] {1, values.length}, values);
            byte[] json = JsonTensors.writePrediction(new Prediction("m", "v", Map.of("ids", t)));
            String request = "{\"inputs\": " + new ObjectMapper().readTree(json).get("outputs") + "}";
            assertEquals(t, JsonTensors.parseRequest(request.getBytes(StandardCharsets.UTF_8)).bind(SIG).get("ids"));
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
