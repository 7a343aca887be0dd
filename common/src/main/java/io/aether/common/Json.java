package io.aether.common;

import java.math.BigInteger;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A JSON value, read strictly from text and written compactly: the one codec of the VM spec
 * ({@code vm-spec}) and of the monitor's control protocol ({@code monitor-api}), so that a monitor
 * process loads no JSON library (Jackson's databind cost each monitor several MiB of metaspace and
 * heap; see docs/architecture.md).
 *
 * <p>Reading accepts RFC 8259 JSON and nothing more: no comments, no trailing commas, no leading
 * zeros, no unescaped control characters, no name given twice in one object, and at most
 * {@link #MAX_DEPTH} nested arrays and objects, numbers of at most 1000 characters; the caller
 * bounds the text's length (a spec, a control line). Writing has no spaces and escapes only what JSON
 * requires ({@code "}, {@code \}, control characters: {@code \n} style where there is one, else
 * a backslash, {@code u} and four hex digits).
 */
public sealed interface Json {

    /** Far deeper than a spec (4) or a control line (5) nests; bounds the reader's recursion. */
    int MAX_DEPTH = 64;

    /** An object; its fields keep their order. */
    record Obj(Map<String, Json> fields) implements Json {
        public Obj {
            fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }

        /** The field's value, empty if it is absent or null. */
        public Optional<Json> get(String name) {
            Json value = fields.get(name);
            return value == null || value instanceof Null ? Optional.empty() : Optional.of(value);
        }

        public boolean has(String name) {
            return fields.containsKey(name);
        }
    }

    record Arr(List<Json> elements) implements Json {
        public Arr {
            elements = List.copyOf(elements);
        }
    }

    record Str(String value) implements Json {
    }

    /** A number without fraction or exponent, of any size. */
    record Whole(BigInteger value) implements Json {
        public Whole(long value) {
            this(BigInteger.valueOf(value));
        }

        /** The value if it fits a long. */
        public Optional<Long> asLong() {
            return value.bitLength() < Long.SIZE ? Optional.of(value.longValue()) : Optional.empty();
        }

        /** The value if it fits an int. */
        public Optional<Integer> asInt() {
            return value.bitLength() < Integer.SIZE ? Optional.of(value.intValue()) : Optional.empty();
        }
    }

    /** A number with a fraction or an exponent, kept as written. */
    record Fraction(String text) implements Json {
    }

    record Bool(boolean value) implements Json {
    }

    record Null() implements Json {
    }

    /** An object to build field by field, in order. */
    static ObjectBuilder object() {
        return new ObjectBuilder();
    }

    /** {@link Json#object()}: a later {@code put} of the same name replaces the value, in place. */
    final class ObjectBuilder {

        private final Map<String, Json> fields = new LinkedHashMap<>();

        private ObjectBuilder() {
        }

        public ObjectBuilder put(String name, Json value) {
            fields.put(name, value);
            return this;
        }

        public ObjectBuilder put(String name, String value) {
            return put(name, new Str(value));
        }

        public ObjectBuilder put(String name, long value) {
            return put(name, new Whole(value));
        }

        public ObjectBuilder put(String name, boolean value) {
            return put(name, new Bool(value));
        }

        public Obj build() {
            return new Obj(fields);
        }
    }

    /** The value as compact JSON text. */
    default String write() {
        StringBuilder out = new StringBuilder();
        JsonText.write(this, out);
        return out.toString();
    }

    /**
     * The one value {@code text} holds, surrounded by nothing but white space; empty if the text
     * is white space only.
     *
     * @throws SyntaxError where the text is not that
     */
    static Optional<Json> parse(String text) {
        return JsonText.parse(text);
    }

    /**
     * Text that is not one JSON value: {@code problem} has no line break, and names what was
     * expected or found at {@code line} and {@code column} (both from 1, columns counted in UTF-16
     * characters); {@code trailing} when a whole value was followed by more.
     */
    final class SyntaxError extends IllegalArgumentException {

        private final String problem;
        private final int line;
        private final int column;
        private final boolean trailing;

        SyntaxError(String problem, int line, int column, boolean trailing) {
            super(problem + " at line " + line + ", column " + column);
            this.problem = problem;
            this.line = line;
            this.column = column;
            this.trailing = trailing;
        }

        public String problem() {
            return problem;
        }

        public int line() {
            return line;
        }

        public int column() {
            return column;
        }

        public boolean trailing() {
            return trailing;
        }
    }
}
