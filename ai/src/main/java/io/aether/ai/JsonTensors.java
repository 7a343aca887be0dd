package io.aether.ai;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON form of predictions. A request is
 * <pre>{@code {"inputs": {"X": {"shape": [2, 3], "data": [1, 2, 3, 4, 5, 6]}}}}</pre>
 * where {@code data} may be flat (row-major) or nested, {@code shape} may be left out when
 * {@code data} is nested (the nesting gives it), an input may be given as its nested array alone
 * ({@code "X": [[1, 2, 3]]}), and an optional {@code "type"} must then equal the model's. Numbers
 * take the element type the model declares for the input; integer types refuse fractions and
 * out-of-range values, bool takes true/false (or 0/1), float types also take the strings
 * "NaN", "Infinity" and "-Infinity".
 *
 * <p>A request is parsed for the signature of the version that will answer it, from a token
 * stream straight into little-endian buffers of the model's element types: no tree, no boxed
 * numbers, no copy of the body. An input's buffer is sized from its declared shape (the
 * request's {@code shape} when it comes before {@code data}, else the model's when every
 * dimension is fixed) and a value beyond it is refused at once; only data whose size nothing
 * declares grows, and every buffer's bytes are taken from the request's {@link ByteBudget.Lease}
 * before they are allocated. No input may hold more values than the body's bytes could spell.
 */
final class JsonTensors {

    /** Field names, input names, type labels, "NaN": nothing a request needs is longer. */
    static final int MAX_STRING = 4096;

    /**
     * Buffers come from a shared pool: Jackson's default pool is per thread, and every HTTP
     * exchange runs on a new virtual thread, so that pool would allocate fresh buffers per request.
     * Streams stay open when a parser or generator closes: they are the caller's (closing an
     * HTTP request body would wait for the rest of it).
     */
    static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(Tensor.MAX_RANK + 8)
                    .maxStringLength(MAX_STRING).maxNameLength(MAX_STRING).build())
            .recyclerPool(JsonRecyclerPools.sharedConcurrentDequePool())
            .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
            .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
            .build();

    /** The largest array a buffer may be (and so a {@link Tensor}'s data). */
    private static final long MAX_BUFFER = Integer.MAX_VALUE - 8;
    /** Values a growing buffer starts with. */
    private static final int FIRST_CAPACITY = 1024;

    private JsonTensors() {
    }

    private static InferenceException malformed(String message) {
        return InferenceException.invalidInput(null, message);
    }

    /**
     * Parses a whole request body held in memory for {@code signature}, with no budget: the entry
     * point for tests and fuzzing.
     *
     * @throws InferenceException (INVALID_INPUT) for malformed JSON or a badly formed input, naming it
     */
    static Map<String, Tensor> parse(byte[] body, ModelSignature signature) throws InferenceException {
        try (ByteBudget.Lease lease = ByteBudget.UNLIMITED.lease()) {
            return parse(new ByteArrayInputStream(body), body.length, signature, lease);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array cannot fail to read
        }
    }

    /**
     * Parses a request body of at most {@code maxBytes} bytes read from {@code body} into tensors
     * of {@code signature}'s element types, taking every buffer's bytes from {@code lease} first.
     * On success the lease holds exactly the bytes of the tensors returned.
     *
     * @throws InferenceException (INVALID_INPUT) for malformed JSON, an unknown input, or an input
     *         whose values do not fit its type or declared shape, naming it
     * @throws IOException when the body cannot be read (other than as malformed JSON)
     * @throws ByteBudget.Refused when the budget has no room for a buffer
     */
    static Map<String, Tensor> parse(InputStream body, long maxBytes, ModelSignature signature, ByteBudget.Lease lease)
            throws InferenceException, IOException {
        long maxValues = (maxBytes + 1) / 2; // every value but the last needs a separator
        Map<String, Tensor> inputs = new LinkedHashMap<>();
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
                if (sawInputs) {
                    throw malformed("'inputs' appears twice");
                }
                if (p.currentToken() != JsonToken.START_OBJECT) {
                    throw malformed("'inputs' must be an object mapping input names to tensors");
                }
                sawInputs = true;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    TensorSpec spec = signature.input(name).orElseThrow(() -> InferenceException.invalidInput(name,
                            "unknown input '" + name + "'; the model's inputs are: " + signature.inputNames()));
                    if (inputs.containsKey(name)) {
                        throw InferenceException.invalidInput(name, "input '" + name + "' appears twice");
                    }
                    inputs.put(name, parseInput(p, spec, maxValues, maxBytes, lease));
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
        } catch (java.io.CharConversionException e) {
            // Bad encoding (e.g. a cut UTF-32 character) is the client's error; other I/O failures are the connection's.
            throw malformed("malformed JSON: " + e.getMessage());
        }
        lease.settle();
        return inputs;
    }

    private static Tensor parseInput(JsonParser p, TensorSpec spec, long maxValues, long maxBytes, ByteBudget.Lease lease)
            throws IOException, InferenceException {
        String name = spec.name();
        if (p.currentToken() != JsonToken.START_OBJECT) {
            Elements data = new Elements(spec, null, maxValues, maxBytes, lease);
            return data.toTensor(parseData(p, data));
        }
        long[] shape = null;
        Elements data = null;
        long[] nestedShape = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            p.nextToken();
            switch (field) {
                case "shape" -> {
                    if (shape != null) {
                        throw InferenceException.invalidInput(name, "input '" + name + "': 'shape' appears twice");
                    }
                    shape = parseShape(p, name);
                    InputValidator.checkShape(spec, shape);
                }
                case "data" -> {
                    if (data != null) {
                        throw InferenceException.invalidInput(name, "input '" + name + "': 'data' appears twice");
                    }
                    data = new Elements(spec, shape, maxValues, maxBytes, lease);
                    nestedShape = parseData(p, data);
                }
                case "type" -> {
                    if (p.currentToken() != JsonToken.VALUE_STRING) {
                        throw InferenceException.invalidInput(name, "input '" + name + "': 'type' must be a string");
                    }
                    String label = p.getText();
                    ElementType declared = ElementType.fromLabel(label).orElseThrow(() -> InferenceException.invalidInput(
                            name, "input '" + name + "': unknown element type '" + label + "'"));
                    if (declared != spec.type()) {
                        throw InferenceException.invalidInput(name, "input '" + name + "': expected element type "
                                + spec.type().label() + ", got " + declared.label());
                    }
                }
                default -> throw InferenceException.invalidInput(name, "input '" + name + "': unknown field '"
                        + field + "'; expected shape, data, type");
            }
        }
        if (data == null) {
            throw InferenceException.invalidInput(name, "input '" + name + "' has no 'data'");
        }
        return data.toTensor(shape != null ? shape : nestedShape);
    }

    private static long[] parseShape(JsonParser p, String name) throws IOException, InferenceException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw InferenceException.invalidInput(name, "input '" + name + "': 'shape' must be an array of sizes");
        }
        long[] dims = new long[Tensor.MAX_RANK];
        int rank = 0;
        while (p.nextToken() != JsonToken.END_ARRAY) {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER
                    || p.getLongValue() < 0) {
                throw InferenceException.invalidInput(name, "input '" + name + "': 'shape' must hold sizes >= 0");
            }
            if (rank == Tensor.MAX_RANK) {
                throw InferenceException.invalidInput(name, "input '" + name + "': rank over " + Tensor.MAX_RANK);
            }
            dims[rank++] = p.getLongValue();
        }
        return Arrays.copyOf(dims, rank);
    }

    /** Reads a scalar or a nested array into {@code data}; returns the shape its nesting gives. */
    private static long[] parseData(JsonParser p, Elements data) throws IOException, InferenceException {
        long[] dims = new long[Tensor.MAX_RANK + 1]; // size of the arrays at each depth, -1 until one completes
        Arrays.fill(dims, -1);
        int[] leafDepth = {-1};
        parseValue(p, data, 0, dims, leafDepth);
        int rank = 0;
        while (rank < dims.length && dims[rank] >= 0) {
            rank++;
        }
        return Arrays.copyOf(dims, rank);
    }

    private static void parseValue(JsonParser p, Elements data, int depth, long[] dims, int[] leafDepth)
            throws IOException, InferenceException {
        JsonToken t = p.currentToken();
        if (t == JsonToken.START_ARRAY) {
            if (depth >= Tensor.MAX_RANK) {
                throw InferenceException.invalidInput(data.name, "input '" + data.name
                        + "': arrays nested deeper than rank " + Tensor.MAX_RANK);
            }
            if (leafDepth[0] >= 0 && depth >= leafDepth[0]) {
                throw ragged(data.name);
            }
            long count = 0;
            while (p.nextToken() != JsonToken.END_ARRAY) {
                parseValue(p, data, depth + 1, dims, leafDepth);
                count++;
            }
            if (dims[depth] < 0) {
                dims[depth] = count;
            } else if (dims[depth] != count) {
                throw ragged(data.name);
            }
            return;
        }
        if (leafDepth[0] < 0) {
            leafDepth[0] = depth;
            if (dims[depth] >= 0) {
                throw ragged(data.name); // an array (empty) was seen where this value is
            }
        } else if (leafDepth[0] != depth) {
            throw ragged(data.name);
        }
        data.add(p, t);
    }

    private static InferenceException ragged(String name) {
        return InferenceException.invalidInput(name, "input '" + name
                + "': nested arrays are ragged (every row must have the same length and depth)");
    }

    /**
     * One input's values, written as they are read into little-endian bytes of the model's
     * element type. The buffer holds exactly the declared count when a shape declares it (a
     * value more is refused before anything grows), else it grows by doubling up to what the
     * body could hold; each allocation's bytes are taken from the lease first.
     */
    private static final class Elements {
        final String name;
        final ElementType type;
        final int size;
        final ByteBudget.Lease lease;
        /** Most values this input may take; one more is refused with {@link #overflow}. */
        final long limit;
        final String overflow;
        byte[] bytes = new byte[0];
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        long count;

        Elements(TensorSpec spec, long[] shape, long maxValues, long maxBytes, ByteBudget.Lease lease)
                throws InferenceException {
            this.name = spec.name();
            this.type = spec.type();
            this.size = type.byteSize();
            this.lease = lease;
            long[] declared = shape != null ? shape : fixedShape(spec);
            long tooMany = Math.min(maxValues, MAX_BUFFER / size);
            if (declared != null) {
                long n;
                try {
                    n = Tensor.elementCount(type, declared);
                } catch (IllegalArgumentException e) {
                    throw InferenceException.invalidInput(name, "input '" + name + "': " + e.getMessage());
                }
                String needs = "input '" + name + "': " + (shape != null ? "shape " : "expected shape ")
                        + Tensor.shapeText(declared) + " needs " + n + " values, ";
                if (n > maxValues) {
                    throw InferenceException.invalidInput(name, needs + "more than a body of " + maxBytes + " bytes can hold");
                }
                limit = n;
                overflow = needs + "got more";
                resize(n);
            } else {
                limit = tooMany;
                overflow = "input '" + name + "': more values than " + (tooMany == maxValues
                        ? "a body of " + maxBytes + " bytes can hold" : "fit in 2 GiB");
            }
        }

        /** The model's shape for the input when every dimension is fixed, else null. */
        private static long[] fixedShape(TensorSpec spec) {
            long[] shape = new long[spec.rank()];
            for (int i = 0; i < shape.length; i++) {
                if (!(spec.shape().get(i) instanceof Dim.Fixed(long fixed))) {
                    return null;
                }
                shape[i] = fixed;
            }
            return shape;
        }

        private long capacity() {
            return bytes.length / size;
        }

        /** Replaces the buffer by one of {@code values} values, taking its bytes first and giving the old ones back. */
        private void resize(long values) {
            long newBytes = values * size;
            lease.take(newBytes);
            byte[] old = bytes;
            bytes = Arrays.copyOf(old, (int) newBytes);
            buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            lease.give(old.length);
        }

        void add(JsonParser p, JsonToken t) throws IOException, InferenceException {
            if (count == capacity()) {
                if (count == limit) {
                    throw InferenceException.invalidInput(name, overflow);
                }
                resize(Math.min(limit, Math.max(FIRST_CAPACITY, 2 * count)));
            }
            int at = (int) (count * size);
            switch (type) {
                case FLOAT -> buffer.putFloat(at, (float) floating(p, t));
                case DOUBLE -> buffer.putDouble(at, floating(p, t));
                case FLOAT16 -> buffer.putShort(at, Float.floatToFloat16((float) floating(p, t)));
                case BFLOAT16 -> buffer.putShort(at, toBfloat16((float) floating(p, t)));
                case BOOL -> buffer.put(at, bool(p, t));
                case INT8 -> buffer.put(at, (byte) integer(p, t, Byte.MIN_VALUE, Byte.MAX_VALUE));
                case UINT8 -> buffer.put(at, (byte) integer(p, t, 0, 255));
                case INT16 -> buffer.putShort(at, (short) integer(p, t, Short.MIN_VALUE, Short.MAX_VALUE));
                case INT32 -> buffer.putInt(at, (int) integer(p, t, Integer.MIN_VALUE, Integer.MAX_VALUE));
                case INT64 -> buffer.putLong(at, integer(p, t, Long.MIN_VALUE, Long.MAX_VALUE));
            }
            count++;
        }

        private double floating(JsonParser p, JsonToken t) throws IOException, InferenceException {
            return switch (t) {
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getDoubleValue();
                case VALUE_STRING -> switch (p.getText()) {
                    case "NaN" -> Double.NaN;
                    case "Infinity", "+Infinity" -> Double.POSITIVE_INFINITY;
                    case "-Infinity" -> Double.NEGATIVE_INFINITY;
                    default -> throw InferenceException.invalidInput(name, "input '" + name + "': value '"
                            + p.getText() + "' at index " + count + " is not a number");
                };
                case VALUE_TRUE, VALUE_FALSE -> throw notBoolean();
                default -> throw notANumber(t);
            };
        }

        private long integer(JsonParser p, JsonToken t, long min, long max) throws IOException, InferenceException {
            long value;
            switch (t) {
                case VALUE_NUMBER_INT -> {
                    if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                        throw outOfRange(p.getText());
                    }
                    value = p.getLongValue();
                }
                case VALUE_NUMBER_FLOAT -> {
                    double d = p.getDoubleValue();
                    if (d != Math.rint(d) || Double.isInfinite(d) || d < -0x1p63 || d >= 0x1p63) {
                        throw InferenceException.invalidInput(name, "input '" + name + "': value " + p.getText()
                                + " at index " + count + " is not an " + type.label());
                    }
                    value = (long) d;
                }
                case VALUE_STRING -> throw InferenceException.invalidInput(name, "input '" + name + "': value '"
                        + p.getText() + "' at index " + count + " is not an " + type.label());
                case VALUE_TRUE, VALUE_FALSE -> throw notBoolean();
                default -> throw notANumber(t);
            }
            if (value < min || value > max) {
                throw outOfRange(Long.toString(value));
            }
            return value;
        }

        private byte bool(JsonParser p, JsonToken t) throws IOException, InferenceException {
            return switch (t) {
                case VALUE_TRUE -> 1;
                case VALUE_FALSE -> 0;
                case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_STRING -> {
                    if (t == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER
                            && (p.getLongValue() == 0 || p.getLongValue() == 1)) {
                        yield (byte) p.getLongValue();
                    }
                    throw InferenceException.invalidInput(name, "input '" + name + "' is bool: use true/false (or 0/1)");
                }
                default -> throw notANumber(t);
            };
        }

        private InferenceException outOfRange(String value) {
            return InferenceException.invalidInput(name, "input '" + name + "': value " + value + " at index " + count
                    + " is out of range for " + type.label());
        }

        private InferenceException notBoolean() {
            return InferenceException.invalidInput(name, "input '" + name + "': value at index " + count
                    + " is a boolean, but the input is " + type.label());
        }

        private InferenceException notANumber(JsonToken t) {
            return InferenceException.invalidInput(name, "input '" + name + "': " + t + " at index " + count
                    + " is not a number");
        }

        /** The values as a tensor of {@code shape}, which must account for every one of them. */
        Tensor toTensor(long[] shape) throws InferenceException {
            long n;
            try {
                n = Tensor.elementCount(type, shape);
            } catch (IllegalArgumentException e) {
                throw InferenceException.invalidInput(name, "input '" + name + "': " + e.getMessage());
            }
            if (n != count) {
                throw InferenceException.invalidInput(name, "input '" + name + "': shape " + Tensor.shapeText(shape)
                        + " needs " + n + " values, got " + count);
            }
            if (capacity() != count) {
                resize(count); // a grown buffer has room to spare
            }
            return Tensor.wrap(type, shape.clone(), bytes);
        }
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
    static void writePrediction(Prediction prediction, OutputStream out) throws IOException {
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
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
        }
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
