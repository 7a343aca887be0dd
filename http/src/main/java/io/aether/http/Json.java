package io.aether.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidDefinitionException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.io.IOException;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * JSON in and out. Reading is strict (unknown fields, trailing data and nulls for primitives
 * are refused; nesting, string and number sizes are bounded) and every failure becomes a 400
 * that names the field in the peer's terms: no Java type, class or parser internals.
 */
final class Json {

    private static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).maxNumberLength(64).build())
            .build())
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .setSerializationInclusion(JsonInclude.Include.NON_ABSENT);

    /** {@code field: problem} as the validation messages of Aether's records read. */
    private static final Pattern FIELD_MESSAGE = Pattern.compile("([A-Za-z][A-Za-z0-9_.\\[\\]-]{0,63}): (.+)", Pattern.DOTALL);
    private static final Pattern FIELD = Pattern.compile("[A-Za-z][A-Za-z0-9_]{0,63}");

    private Json() {
    }

    static byte[] write(Object value) {
        try {
            return MAPPER.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** The body of an error answer. */
    static byte[] error(ApiError error) {
        String field = error instanceof ApiError.BadRequest b ? b.field() : null;
        var body = new java.util.LinkedHashMap<String, Object>();
        body.put("error", ApiError.code(error));
        body.put("message", String.valueOf(error.message()));
        if (field != null) {
            body.put("field", field);
        }
        return write(body);
    }

    static <T> T read(byte[] body, Class<T> type) {
        if (body.length == 0) {
            throw new ApiError.BadRequest("body", "a JSON body is required").exception();
        }
        try (JsonParser parser = MAPPER.createParser(body)) {
            T value = MAPPER.readValue(parser, type);
            if (parser.nextToken() != null) {
                throw new ApiError.BadRequest("body", "more data after the JSON value" + where(parser.currentTokenLocation())).exception();
            }
            return value;
        } catch (InvalidDefinitionException e) {
            // The handler asked for a type Jackson cannot build: the server's fault, not the peer's.
            throw new IllegalStateException("cannot read " + type.getName() + " from JSON", e);
        } catch (IOException e) {
            throw badRequest(e).exception();
        }
    }

    static ApiError.BadRequest badRequest(IOException e) {
        return switch (e) {
            case StreamConstraintsException c -> new ApiError.BadRequest("body", "JSON nested too deeply or a value too long");
            case StreamReadException p -> new ApiError.BadRequest("body", "not valid JSON" + where(p.getLocation()));
            case UnrecognizedPropertyException u -> new ApiError.BadRequest(path(u), "unknown field");
            case InvalidFormatException f -> new ApiError.BadRequest(path(f), "expected " + kind(f.getTargetType()));
            case ValueInstantiationException v when v.getCause() instanceof IllegalArgumentException refused -> refusal(v, refused);
            // Objects.requireNonNull(value, "name") in a record's constructor: the field is missing.
            case ValueInstantiationException v when v.getCause() instanceof NullPointerException npe && npe.getMessage() != null
                    && FIELD.matcher(npe.getMessage()).matches() -> new ApiError.BadRequest(npe.getMessage(), "required");
            case MismatchedInputException m when m.getPath().isEmpty() -> new ApiError.BadRequest("body", "expected " + kind(m.getTargetType()));
            case MismatchedInputException m -> new ApiError.BadRequest(path(m), "expected " + kind(m.getTargetType()));
            case JsonMappingException m when !m.getPath().isEmpty() -> new ApiError.BadRequest(path(m), "invalid value");
            default -> new ApiError.BadRequest("body", "not a valid request body");
        };
    }

    /** A record's constructor refused the values: its message is meant for the user. */
    private static ApiError.BadRequest refusal(JsonMappingException e, IllegalArgumentException refused) {
        String message = String.valueOf(refused.getMessage()).lines().findFirst().orElse("invalid value");
        Matcher m = FIELD_MESSAGE.matcher(message);
        if (m.matches()) {
            return new ApiError.BadRequest(m.group(1), m.group(2));
        }
        return new ApiError.BadRequest(e.getPath().isEmpty() ? "body" : path(e), message);
    }

    private static String where(JsonLocation at) {
        return at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }

    /** {@code disks[0].path}, the field as the peer wrote it. */
    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                b.append(b.isEmpty() ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.isEmpty() ? "body" : b.toString();
    }

    /** The JSON kind a Java type is read from. */
    private static String kind(Class<?> type) {
        if (type == null) {
            return "another kind of value";
        }
        if (type.isEnum()) {
            return "one of " + Arrays.stream(type.getEnumConstants()).map(Object::toString).collect(Collectors.joining(", "));
        }
        if (type == int.class || type == long.class || type == short.class || type == byte.class || type == Integer.class
                || type == Long.class || type == Short.class || type == Byte.class || type == java.math.BigInteger.class) {
            return "an integer";
        }
        if (type.isPrimitive() && type != boolean.class && type != char.class || Number.class.isAssignableFrom(type)) {
            return "a number";
        }
        if (type == boolean.class || type == Boolean.class) {
            return "true or false";
        }
        if (type == String.class || type == char.class || type == Character.class) {
            return "a string";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        return Map.class.isAssignableFrom(type) || type.isRecord() ? "an object" : "another kind of value";
    }
}
