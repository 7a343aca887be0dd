package io.aether.ai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON form of predictions. A request is
 * <pre>{@code {"inputs": {"X": {"shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}}}}</pre>
 * where {@code data} may be flat (row-major) or nested, {@code shape} may be left out when
 * {@code data} is nested (the nesting gives it), an input may be given as its nested array alone
 * ({@code "X": [[1, 2, 3]]}), and an optional {@code "type"} must then equal the model's. Numbers
 * take the element type the model declares for the input; integer types refuse fractions and
 * out-of-range values, bool takes true/false (or 0/1), float types also take the strings
 * "NaN", "Infinity" and "-Infinity". Parsing streams numbers into primitive arrays, never
 * into a tree.
 */
final class JsonTensors {

    /**
     * Buffers come from a shared pool: Jackson's default pool is per thread, and every HTTP
     * exchange runs on a new virtual thread, so that pool would allocate fresh buffers per request.
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(Tensor.MAX_RANK + 8).build())
            .recyclerPool(JsonRecyclerPools.sharedConcurrentDequePool())
            .build();

    private JsonTensors() {
    }

    /** One input as parsed, before the version (and so the element type) is known. */
    static final class RawInput {
        final String name;
        long[] shape;          // explicit "shape", or null
        long[] nestedShape;    // what the nesting of the data says
        ElementType declared;  // explicit "type", or null
        final Values values = new Values();

        RawInput(String name) {
            this.name = name;
        }
    }

    /** Numbers kept as longs while every one is an integer, as doubles from the first fraction on. */
    static final class Values {
        long[] longs = new long[16];
        double[] doubles;
        int size;
        int firstBoolean = -1;
        int firstNumber = -1;

        void add(long v) {
            if (doubles != null) {
                add((double) v);
                return;
            }
            if (size == longs.length) {
                longs = Arrays.copyOf(longs, grow(size));
            }
            longs[size++] = v;
        }

        void add(double v) {
            if (doubles == null) {
                doubles = new double[Math.max(16, longs.length)];
                for (int i = 0; i < size; i++) {
                    doubles[i] = longs[i];
                }
                longs = null;
            }
            if (size == doubles.length) {
                doubles = Arrays.copyOf(doubles, grow(size));
            }
            doubles[size++] = v;
        }

        private static int grow(int n) {
            if (n >= Integer.MAX_VALUE - 16) {
                throw new IllegalStateException("too many values");
            }
            return (int) Math.min(Integer.MAX_VALUE - 16, n * 2L);
        }

        boolean integral() {
            return doubles == null;
        }

        double asDouble(int i) {
            return doubles == null ? longs[i] : doubles[i];
        }
    }

    private static InferenceException malformed(String message) {
        return InferenceException.invalidInput(null, message);
    }

    /**
     * Parses a predict request body.
     *
     * @throws InferenceException (INVALID_INPUT) for malformed JSON or a badly formed input, naming it
     */
    static InputBinder parseRequest(byte[] body) throws InferenceException {
        Map<String, RawInput> inputs = new LinkedHashMap<>();
        try (JsonParser p = FACTORY.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw malformed("request body must be a JSON object like {\"inputs\": {...}}");
            }
            boolean sawInputs = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (!field.equals("inputs")) {
                    throw malformed("unknown field '" + field + "' in the request; expected 'inputs'");
                }
                if (p.currentToken() != JsonToken.START_OBJECT) {
                    throw malformed("'inputs' must be an object mapping input names to tensors");
                }
                sawInputs = true;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    RawInput in = new RawInput(name);
                    if (inputs.put(name, in) != null) {
                        throw InferenceException.invalidInput(name, "input '" + name + "' appears twice");
                    }
                    parseInput(p, in);
                }
            }
            if (p.nextToken() != null) {
                throw malformed("unexpected content after the request object");
            }
            if (!sawInputs) {
                throw malformed("the request has no 'inputs'");
            }
        } catch (JsonProcessingException e) {
            throw malformed("malformed JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            // Not a read failure (the body is in memory) but bad encoding, e.g. a cut UTF-32 character.
            throw malformed("malformed JSON: " + e.getMessage());
        }
        return signature -> bind(inputs, signature);
    }

    private static void parseInput(JsonParser p, RawInput in) throws IOException, InferenceException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            in.nestedShape = parseData(p, in);
            return;
        }
        boolean sawData = false;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "shape" -> in.shape = parseShape(p, in.name);
                case "data" -> {
                    in.nestedShape = parseData(p, in);
                    sawData = true;
                }
                case "type" -> {
                    if (p.currentToken() != JsonToken.VALUE_STRING) {
                        throw InferenceException.invalidInput(in.name, "input '" + in.name + "': 'type' must be a string");
                    }
                    String label = p.getText();
                    in.declared = ElementType.fromLabel(label).orElseThrow(() -> InferenceException.invalidInput(in.name,
                            "input '" + in.name + "': unknown element type '" + label + "'"));
                }
                default -> throw InferenceException.invalidInput(in.name, "input '" + in.name + "': unknown field '"
                        + field + "'; expected shape, data, type");
            }
        }
        if (!sawData) {
            throw InferenceException.invalidInput(in.name, "input '" + in.name + "' has no 'data'");
        }
    }

    private static long[] parseShape(JsonParser p, String name) throws IOException, InferenceException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw InferenceException.invalidInput(name, "input '" + name + "': 'shape' must be an array of sizes");
        }
        List<Long> dims = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || p.getLongValue() < 0) {
                throw InferenceException.invalidInput(name, "input '" + name + "': 'shape' must hold sizes >= 0");
            }
            if (dims.size() == Tensor.MAX_RANK) {
                throw InferenceException.invalidInput(name, "input '" + name + "': rank over " + Tensor.MAX_RANK);
            }
            dims.add(p.getLongValue());
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** Reads a scalar or a nested array; returns the shape its nesting gives. */
    private static long[] parseData(JsonParser p, RawInput in) throws IOException, InferenceException {
        long[] dims = new long[Tensor.MAX_RANK + 1]; // size of the arrays at each depth, -1 until one completes
        Arrays.fill(dims, -1);
        int[] leafDepth = {-1};
        parseValue(p, in, 0, dims, leafDepth);
        int rank = 0;
        while (rank < dims.length && dims[rank] >= 0) {
            rank++;
        }
        return Arrays.copyOf(dims, rank);
    }

    private static void parseValue(JsonParser p, RawInput in, int depth, long[] dims, int[] leafDepth)
            throws IOException, InferenceException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_ARRAY) {
            if (depth >= Tensor.MAX_RANK) {
                throw InferenceException.invalidInput(in.name, "input '" + in.name + "': arrays nested deeper than rank "
                        + Tensor.MAX_RANK);
            }
            if (leafDepth[0] >= 0 && depth >= leafDepth[0]) {
                throw ragged(in);
            }
            long count = 0;
            while (p.nextToken() != JsonToken.END_ARRAY) {
                parseValue(p, in, depth + 1, dims, leafDepth);
                count++;
            }
            if (dims[depth] < 0) {
                dims[depth] = count;
            } else if (dims[depth] != count) {
                throw ragged(in);
            }
            return;
        }
        if (leafDepth[0] < 0) {
            leafDepth[0] = depth;
            if (dims[depth] >= 0) {
                throw ragged(in); // an array (empty) was seen where this value is
            }
        } else if (leafDepth[0] != depth) {
            throw ragged(in);
        }
        Values v = in.values;
        switch (t) {
            case VALUE_NUMBER_INT -> {
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    v.add(p.getDoubleValue());
                } else {
                    v.add(p.getLongValue());
                }
                if (v.firstNumber < 0) {
                    v.firstNumber = v.size - 1;
                }
            }
            case VALUE_NUMBER_FLOAT -> {
                v.add(p.getDoubleValue());
                if (v.firstNumber < 0) {
                    v.firstNumber = v.size - 1;
                }
            }
            case VALUE_TRUE, VALUE_FALSE -> {
                v.add(t == JsonToken.VALUE_TRUE ? 1L : 0L);
                if (v.firstBoolean < 0) {
                    v.firstBoolean = v.size - 1;
                }
            }
            case VALUE_STRING -> {
                double special = switch (p.getText()) {
                    case "NaN" -> Double.NaN;
                    case "Infinity", "+Infinity" -> Double.POSITIVE_INFINITY;
                    case "-Infinity" -> Double.NEGATIVE_INFINITY;
                    default -> throw InferenceException.invalidInput(in.name, "input '" + in.name + "': value '"
                            + p.getText() + "' at index " + v.size + " is not a number");
                };
                v.add(special);
                if (v.firstNumber < 0) {
                    v.firstNumber = v.size - 1;
                }
            }
            default -> throw InferenceException.invalidInput(in.name, "input '" + in.name + "': " + t
                    + " at index " + v.size + " is not a number");
        }
    }

    private static InferenceException ragged(RawInput in) {
        return InferenceException.invalidInput(in.name, "input '" + in.name
                + "': nested arrays are ragged (every row must have the same length and depth)");
    }

    private static Map<String, Tensor> bind(Map<String, RawInput> inputs, ModelSignature signature)
            throws InferenceException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (RawInput in : inputs.values()) {
            TensorSpec spec = signature.input(in.name).orElseThrow(() -> InferenceException.invalidInput(in.name,
                    "unknown input '" + in.name + "'; the model's inputs are: " + signature.inputNames()));
            out.put(in.name, toTensor(in, spec.type()));
        }
        return out;
    }

    static Tensor toTensor(RawInput in, ElementType type) throws InferenceException {
        String name = in.name;
        if (in.declared != null && in.declared != type) {
            throw InferenceException.invalidInput(name, "input '" + name + "': expected element type " + type.label()
                    + ", got " + in.declared.label());
        }
        Values v = in.values;
        long[] shape = in.shape != null ? in.shape : in.nestedShape;
        long count;
        try {
            count = Tensor.elementCount(type, shape);
        } catch (IllegalArgumentException e) {
            throw InferenceException.invalidInput(name, "input '" + name + "': " + e.getMessage());
        }
        if (count != v.size) {
            throw InferenceException.invalidInput(name, "input '" + name + "': shape " + Tensor.shapeText(shape)
                    + " needs " + count + " values, got " + v.size);
        }
        if (type == ElementType.BOOL) {
            if (v.firstNumber >= 0 && !(v.integral() && zeroOne(v))) {
                throw InferenceException.invalidInput(name, "input '" + name + "' is bool: use true/false (or 0/1)");
            }
        } else if (v.firstBoolean >= 0) {
            throw InferenceException.invalidInput(name, "input '" + name + "': value at index " + v.firstBoolean
                    + " is a boolean, but the input is " + type.label());
        }
        ByteBuffer b = ByteBuffer.allocate(v.size * type.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < v.size; i++) {
            switch (type) {
                case FLOAT -> b.putFloat((float) v.asDouble(i));
                case DOUBLE -> b.putDouble(v.asDouble(i));
                case FLOAT16 -> b.putShort(Float.floatToFloat16((float) v.asDouble(i)));
                case BFLOAT16 -> b.putShort(toBfloat16((float) v.asDouble(i)));
                case BOOL -> b.put((byte) (v.longs[i] != 0 ? 1 : 0));
                case INT8 -> b.put((byte) integer(v, i, Byte.MIN_VALUE, Byte.MAX_VALUE, type, name));
                case UINT8 -> b.put((byte) integer(v, i, 0, 255, type, name));
                case INT16 -> b.putShort((short) integer(v, i, Short.MIN_VALUE, Short.MAX_VALUE, type, name));
                case INT32 -> b.putInt((int) integer(v, i, Integer.MIN_VALUE, Integer.MAX_VALUE, type, name));
                case INT64 -> b.putLong(integer(v, i, Long.MIN_VALUE, Long.MAX_VALUE, type, name));
            }
        }
        return Tensor.wrap(type, shape.clone(), b.array());
    }

    private static boolean zeroOne(Values v) {
        for (int i = 0; i < v.size; i++) {
            if (v.longs[i] != 0 && v.longs[i] != 1) {
                return false;
            }
        }
        return true;
    }

    private static long integer(Values v, int i, long min, long max, ElementType type, String name)
            throws InferenceException {
        long value;
        if (v.integral()) {
            value = v.longs[i];
        } else {
            double d = v.doubles[i];
            if (d != Math.rint(d) || Double.isInfinite(d) || d < -0x1p63 || d >= 0x1p63) {
                throw InferenceException.invalidInput(name, "input '" + name + "': value " + Prom.number(d)
                        + " at index " + i + " is not an " + type.label());
            }
            value = (long) d;
        }
        if (value < min || value > max) {
            throw InferenceException.invalidInput(name, "input '" + name + "': value " + value + " at index " + i
                    + " is out of range for " + type.label());
        }
        return value;
    }

    /** Round to nearest even on the 16 bits dropped; NaN stays a quiet NaN. */
    static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    static float fromBfloat16(short s) {
        return Float.intBitsToFloat((s & 0xFFFF) << 16);
    }

    /** Writes a prediction: {@code {"model": ..., "version": ..., "outputs": {name: {type, shape, data}}}}. */
    static byte[] writePrediction(Prediction prediction) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JsonGenerator g = FACTORY.createGenerator(bytes)) {
            g.writeStartObject();
            g.writeStringField("model", prediction.model());
            g.writeStringField("version", prediction.version());
            g.writeObjectFieldStart("outputs");
            for (Map.Entry<String, Tensor> e : prediction.outputs().entrySet()) {
                Tensor t = e.getValue();
                g.writeObjectFieldStart(e.getKey());
                g.writeStringField("type", t.type().label());
                g.writeArrayFieldStart("shape");
                for (long d : t.shape()) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data");
                writeData(g, t);
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void writeData(JsonGenerator g, Tensor t) throws IOException {
        ByteBuffer b = t.buffer();
        long n = t.elementCount();
        for (long i = 0; i < n; i++) {
            switch (t.type()) {
                case FLOAT -> writeFloat(g, b.getFloat());
                case DOUBLE -> writeDouble(g, b.getDouble());
                case FLOAT16 -> writeFloat(g, Float.float16ToFloat(b.getShort()));
                case BFLOAT16 -> writeFloat(g, fromBfloat16(b.getShort()));
                case BOOL -> g.writeBoolean(b.get() != 0);
                case INT8 -> g.writeNumber(b.get());
                case UINT8 -> g.writeNumber(Byte.toUnsignedInt(b.get()));
                case INT16 -> g.writeNumber(b.getShort());
                case INT32 -> g.writeNumber(b.getInt());
                case INT64 -> g.writeNumber(b.getLong());
            }
        }
    }

    /** JSON has no NaN or infinities: they are written as the strings the parser accepts back. */
    private static void writeFloat(JsonGenerator g, float f) throws IOException {
        if (Float.isFinite(f)) {
            g.writeNumber(f);
        } else {
            g.writeString(Float.isNaN(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity");
        }
    }

    private static void writeDouble(JsonGenerator g, double d) throws IOException {
        if (Double.isFinite(d)) {
            g.writeNumber(d);
        } else {
            g.writeString(Double.isNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        }
    }
}
