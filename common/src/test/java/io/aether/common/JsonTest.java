package io.aether.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.util.RawValue;
import io.aether.testkit.Gen;
import io.aether.testkit.Property;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link Json} against hand-written texts, and against Jackson (test scope only), which the spec
 * and the control protocol used before: the same text for the same tree, the same tree for the
 * same text, and the same texts refused.
 */
@Timeout(60)
class JsonTest {

    private static final JsonMapper JACKSON = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private static Json.SyntaxError refusal(String text) {
        return assertThrows(Json.SyntaxError.class, () -> Json.parse(text));
    }

    @Test
    void readsAndWritesTheDocumentedForm() {
        Map<String, Json> fields = new LinkedHashMap<>();
        fields.put("s", new Json.Str("a\"b\\c\n\t\u0001é\u2603/"));
        fields.put("n", new Json.Whole(-42));
        fields.put("big", new Json.Whole(new BigInteger("123456789012345678901234567890")));
        fields.put("f", new Json.Fraction("1.5e-3"));
        fields.put("a", new Json.Arr(List.of(new Json.Bool(true), new Json.Bool(false), new Json.Null(), new Json.Arr(List.of()))));
        fields.put("o", new Json.Obj(Map.of()));
        Json tree = new Json.Obj(fields);
        String text = "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001é\u2603/\",\"n\":-42,\"big\":123456789012345678901234567890,\"f\":1.5e-3,"
                + "\"a\":[true,false,null,[]],\"o\":{}}";
        assertEquals(text, tree.write());
        assertEquals(Optional.of(tree), Json.parse(text));
        assertEquals(Optional.of(tree), Json.parse(" \r\n\t" + text.replace(",", " ,\n ").replace(":", "\t: ") + "\n"));
        assertEquals(Optional.of(new Json.Str("\u2603/\b\f\r")), Json.parse("\"\\u2603\\/\\b\\f\\r\""));
        assertEquals(Optional.of(new Json.Str("\uD83D\uDE00")), Json.parse("\"\\ud83d\\uDE00\""), "a surrogate pair, either case");
        assertEquals(Optional.empty(), Json.parse(" \n "));
        assertEquals(Optional.of(4294967297L), ((Json.Whole) Json.parse("4294967297").orElseThrow()).asLong());
        assertEquals(Optional.empty(), ((Json.Whole) Json.parse("4294967297").orElseThrow()).asInt());
        assertEquals(Optional.of(Integer.MIN_VALUE), ((Json.Whole) Json.parse("-2147483648").orElseThrow()).asInt());
        assertEquals(Optional.empty(), ((Json.Whole) Json.parse("9223372036854775808").orElseThrow()).asLong());
        assertEquals(Optional.of(Long.MIN_VALUE), ((Json.Whole) Json.parse("-9223372036854775808").orElseThrow()).asLong());
        Json.Obj nulls = (Json.Obj) Json.parse("{\"a\": null}").orElseThrow();
        assertTrue(nulls.has("a"));
        assertEquals(Optional.empty(), nulls.get("a"), "null reads as absent");
    }

    @Test
    void badTextIsRefusedWithWhereAndWhat() {
        Object[][] cases = {
            {"{\"a\": 1, \"a\": 2}", "field 'a' given twice", 1, 13},
            {"{\"a\": ", "the text ends where a value should be", 1, 7},
            {"{\"a\": 1} {}", "more after the value", 1, 10},
            {"{\"a\": 1,}", "unexpected '}' where a field name should be", 1, 9},
            {"[1,]", "unexpected ']' where a value should be", 1, 4},
            {"[1 2]", "expected ',' between an array's elements, found '2'", 1, 4},
            {"{\"a\" 1}", "expected ':' after a field name, found '1'", 1, 6},
            {"{'a': 1}", "unexpected ''' where a field name should be", 1, 2},
            {"\n  01", "a number cannot start with 0", 2, 3},
            {"-", "a number needs digits after -", 1, 2},
            {"1.", "a number needs digits after its decimal point", 1, 3},
            {"1e+", "a number needs digits in its exponent", 1, 4},
            {"\"a\nb\"", "a control character (10) inside a string must be escaped", 1, 3},
            {"\"\\x\"", "unknown escape \\x in a string", 1, 2},
            {"\"\\u12g4\"", "\\u needs four hex digits", 1, 2},
            {"\"abc", "the text ends inside a string", 1, 5},
            {"nul", "unexpected 'n' where a value should be", 1, 1},
            {"[truex]", "unexpected 'x' after true", 1, 6},
            {"\u00a0{}", "unexpected '?' where a value should be", 1, 1},
            {"[" + "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH + 1), "nested deeper than 64", 1, 65},
            {"1" + "0".repeat(1000), "a number of more than 1000 characters", 1, 1},
        };
        for (Object[] c : cases) {
            Json.SyntaxError e = refusal((String) c[0]);
            assertEquals(List.of(c[1], c[2], c[3]), List.of(e.problem(), e.line(), e.column()), (String) c[0]);
            assertEquals(c[1] + " at line " + c[2] + ", column " + c[3], e.getMessage());
            assertEquals(c[0].equals("{\"a\": 1} {}"), e.trailing());
        }
        assertEquals(Json.MAX_DEPTH, depth(Json.parse("[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH)).orElseThrow()));
    }

    private static int depth(Json json) {
        return json instanceof Json.Arr a ? 1 + a.elements().stream().mapToInt(JsonTest::depth).max().orElse(0) : 0;
    }

    // ---- against Jackson ----

    /** Strings with every kind of character a writer must treat differently. */
    private static final Gen<String> STRINGS = random -> {
        StringBuilder s = new StringBuilder();
        int length = random.nextInt(8);
        for (int i = 0; i < length; i++) {
            char c = switch (random.nextInt(6)) {
                case 0 -> (char) random.nextInt(0x20);
                case 1 -> Gen.choose('"', '\\', '/', '\u007f', '\u2028', '\uD800', '\uDFFF').next(random);
                case 2 -> (char) random.nextInt(0x80, 0x10000);
                default -> (char) random.nextInt(0x20, 0x7f);
            };
            s.append(c);
        }
        return s.toString();
    };

    private static Json tree(RandomGenerator random, int depth) {
        int kind = random.nextInt(depth == 0 ? 5 : 7);
        return switch (kind) {
            case 0 -> new Json.Str(STRINGS.next(random));
            case 1 -> new Json.Whole(new BigInteger(random.nextLong() + "" + (random.nextBoolean() ? "" : Long.toUnsignedString(random.nextLong()))));
            case 2 -> new Json.Fraction(random.nextInt(-999, 1000) + "." + random.nextInt(1000) + (random.nextBoolean() ? "" : "e" + random.nextInt(-20, 20)));
            case 3 -> new Json.Bool(random.nextBoolean());
            case 4 -> new Json.Null();
            case 5 -> {
                List<Json> elements = new ArrayList<>();
                for (int i = random.nextInt(4); i > 0; i--) elements.add(tree(random, depth - 1));
                yield new Json.Arr(elements);
            }
            default -> {
                Map<String, Json> fields = new LinkedHashMap<>();
                for (int i = random.nextInt(4); i > 0; i--) fields.put(STRINGS.next(random), tree(random, depth - 1));
                yield new Json.Obj(fields);
            }
        };
    }

    private static final Gen<Json> TREES = random -> tree(random, 4);

    /** The same tree in Jackson's model, built field by field rather than through either's text. */
    private static JsonNode jackson(Json json) {
        JsonNodeFactory nodes = JsonNodeFactory.instance;
        return switch (json) {
            case Json.Obj o -> {
                ObjectNode out = nodes.objectNode();
                o.fields().forEach((name, value) -> out.set(name, jackson(value)));
                yield out;
            }
            case Json.Arr a -> {
                ArrayNode out = nodes.arrayNode();
                a.elements().forEach(e -> out.add(jackson(e)));
                yield out;
            }
            case Json.Str s -> nodes.textNode(s.value());
            case Json.Whole w -> nodes.numberNode(w.value());
            case Json.Fraction f -> nodes.rawValueNode(new RawValue(f.text())); // as written: Jackson would reformat a double
            case Json.Bool b -> nodes.booleanNode(b.value());
            case Json.Null n -> nodes.nullNode();
        };
    }

    /** Whether the trees hold the same values (Jackson reads a fraction as a double). */
    private static boolean same(Json ours, JsonNode theirs) {
        return switch (ours) {
            case Json.Obj o -> {
                if (!theirs.isObject() || theirs.size() != o.fields().size()) yield false;
                Iterator<String> names = theirs.fieldNames();
                for (Map.Entry<String, Json> field : o.fields().entrySet()) {
                    if (!field.getKey().equals(names.next()) || !same(field.getValue(), theirs.get(field.getKey()))) yield false;
                }
                yield true;
            }
            case Json.Arr a -> {
                if (!theirs.isArray() || theirs.size() != a.elements().size()) yield false;
                for (int i = 0; i < a.elements().size(); i++) {
                    if (!same(a.elements().get(i), theirs.get(i))) yield false;
                }
                yield true;
            }
            case Json.Str s -> theirs.isTextual() && theirs.textValue().equals(s.value());
            case Json.Whole w -> theirs.isIntegralNumber() && theirs.bigIntegerValue().equals(w.value());
            case Json.Fraction f -> theirs.isFloatingPointNumber() && theirs.doubleValue() == Double.parseDouble(f.text());
            case Json.Bool b -> theirs.isBoolean() && theirs.booleanValue() == b.value();
            case Json.Null n -> theirs.isNull();
        };
    }

    /** Jackson's reading of the whole text as one value: empty where it refuses the text. */
    private static Optional<JsonNode> jacksonRead(String text) {
        try (JsonParser parser = JACKSON.createParser(text)) {
            JsonNode tree = JACKSON.readTree(parser);
            if (tree == null || tree.isMissingNode() || parser.nextToken() != null) return Optional.empty();
            return Optional.of(tree);
        } catch (Exception refused) {
            return Optional.empty();
        }
    }

    @Test
    void writesWhatJacksonWritesAndReadsItBack() {
        Property.forAll(TREES).tries(3000).check(tree -> {
            String text = tree.write();
            assertEquals(JACKSON.writeValueAsString(jackson(tree)), text);
            assertEquals(Optional.of(tree), Json.parse(text));
        });
    }

    /**
     * Jackson reads a {@code \\u} escape's digits by their low byte only ({@code \\u000\u1530} is
     * {@code \\u0000} to it); RFC 8259 allows ASCII hex digits only, and so do we.
     */
    private static final Pattern NON_ASCII_HEX = Pattern.compile("\\\\u[^\"]{0,3}[^\\x00-\\x7f]");

    @Test
    void escapesTakeAsciiHexDigitsOnly() {
        assertEquals("\\u needs four hex digits", refusal("\"\\u000\u1530\"").problem());
        assertEquals("\\u needs four hex digits", refusal("\"\\u\uff10\uff10\uff10\uff10\"").problem(), "fullwidth digits");
    }

    @Test
    void refusesExactlyWhatJacksonRefuses() {
        Gen<String> damaged = random -> {
            StringBuilder text = new StringBuilder(TREES.next(random).write());
            int edits = random.nextInt(1, 4);
            for (int i = 0; i < edits && !text.isEmpty(); i++) {
                int at = random.nextInt(text.length());
                switch (random.nextInt(3)) {
                    case 0 -> text.deleteCharAt(at);
                    case 1 -> text.insert(at, Gen.choose("\"", "{", "}", "[", "]", ",", ":", "null", "true", "0", "1", "-", ".", "e",
                            "\\", "\\u", "\n", " ", "\f", "x").next(random));
                    default -> text.setCharAt(at, (char) random.nextInt(0, 128));
                }
            }
            return text.toString();
        };
        int[] accepted = new int[1];
        Property.forAll(damaged).tries(20_000).check(text -> {
            if (NON_ASCII_HEX.matcher(text).find()) return; // Jackson's laxity, not a standard to follow
            Optional<JsonNode> theirs = jacksonRead(text);
            Optional<Json> ours;
            try {
                ours = Json.parse(text);
            } catch (Json.SyntaxError refused) {
                assertFalse(refused.getMessage().contains("\n"), refused.getMessage());
                assertEquals(Optional.empty(), theirs, "refused by us only: " + refused.getMessage());
                return;
            }
            assertTrue(theirs.isPresent() || ours.isEmpty(), "accepted by us only");
            if (ours.isPresent()) {
                assertTrue(same(ours.get(), theirs.get()), "read alike");
                accepted[0]++;
            }
        });
        assertTrue(accepted[0] > 1000, "the damage leaves enough texts valid to compare the trees: " + accepted[0]);
    }
}
