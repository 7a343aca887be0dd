package io.aether.common;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@link Json}'s reader (recursive descent over the string) and writer. */
final class JsonText {

    /** Converting a longer run of digits costs time quadratic in its length; no field needs one. */
    private static final int MAX_NUMBER_CHARS = 1000;
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private final String text;
    private int at;

    private JsonText(String text) {
        this.text = text;
    }

    static Optional<Json> parse(String text) {
        JsonText reader = new JsonText(text);
        reader.skipSpace();
        if (reader.at == text.length()) return Optional.empty();
        Json value = reader.value(0);
        reader.skipSpace();
        if (reader.at < text.length()) throw reader.error("more after the value", reader.at, true);
        return Optional.of(value);
    }

    private Json value(int depth) {
        if (at == text.length()) throw error("the text ends where a value should be", at, false);
        char c = text.charAt(at);
        return switch (c) {
            case '{' -> object(depth + 1);
            case '[' -> array(depth + 1);
            case '"' -> new Json.Str(string());
            case 't' -> literal("true", new Json.Bool(true));
            case 'f' -> literal("false", new Json.Bool(false));
            case 'n' -> literal("null", new Json.Null());
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw error("unexpected " + shown(c) + " where a value should be", at, false);
            }
        };
    }

    private Json.Obj object(int depth) {
        if (depth > Json.MAX_DEPTH) throw error("nested deeper than " + Json.MAX_DEPTH, at, false);
        at++;
        Map<String, Json> fields = new LinkedHashMap<>();
        skipSpace();
        if (next("}")) return new Json.Obj(fields);
        while (true) {
            skipSpace();
            if (at == text.length()) throw error("the text ends inside an object", at, false);
            if (text.charAt(at) != '"') throw error("unexpected " + shown(text.charAt(at)) + " where a field name should be", at, false);
            String name = string();
            if (fields.containsKey(name)) throw error("field '" + printable(name) + "' given twice", at, false);
            skipSpace();
            expect(':', "after a field name");
            skipSpace();
            fields.put(name, value(depth));
            skipSpace();
            if (next("}")) return new Json.Obj(fields);
            expect(',', "between an object's fields");
        }
    }

    private Json.Arr array(int depth) {
        if (depth > Json.MAX_DEPTH) throw error("nested deeper than " + Json.MAX_DEPTH, at, false);
        at++;
        List<Json> elements = new ArrayList<>();
        skipSpace();
        if (next("]")) return new Json.Arr(elements);
        while (true) {
            skipSpace();
            elements.add(value(depth));
            skipSpace();
            if (next("]")) return new Json.Arr(elements);
            expect(',', "between an array's elements");
        }
    }

    private String string() {
        at++;
        StringBuilder out = new StringBuilder();
        while (true) {
            if (at == text.length()) throw error("the text ends inside a string", at, false);
            char c = text.charAt(at);
            if (c == '"') {
                at++;
                return out.toString();
            }
            if (c < 0x20) throw error("a control character (" + (int) c + ") inside a string must be escaped", at, false);
            if (c != '\\') {
                out.append(c);
                at++;
                continue;
            }
            if (at + 1 == text.length()) throw error("the text ends inside a string", at + 1, false);
            char e = text.charAt(at + 1);
            switch (e) {
                case '"', '\\', '/' -> out.append(e);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> {
                    int code = 0;
                    for (int i = 2; i < 6; i++) {
                        int digit = at + i < text.length() ? hexDigit(text.charAt(at + i)) : -1;
                        if (digit < 0) throw error("\\u needs four hex digits", at, false);
                        code = code * 16 + digit;
                    }
                    out.append((char) code);
                    at += 4;
                }
                default -> throw error("unknown escape \\" + printable(String.valueOf(e)) + " in a string", at, false);
            }
            at += 2;
        }
    }

    /** RFC 8259's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
    private Json number() {
        int start = at;
        next("-");
        if (next("0")) {
            if (at < text.length() && isDigit(text.charAt(at))) throw error("a number cannot start with 0", start, false);
        } else if (digits() == 0) {
            throw error("a number needs digits after -", at, false);
        }
        boolean fraction = false;
        if (next(".")) {
            fraction = true;
            if (digits() == 0) throw error("a number needs digits after its decimal point", at, false);
        }
        if (next("e") || next("E")) {
            fraction = true;
            if (!next("+")) next("-");
            if (digits() == 0) throw error("a number needs digits in its exponent", at, false);
        }
        if (at - start > MAX_NUMBER_CHARS) throw error("a number of more than " + MAX_NUMBER_CHARS + " characters", start, false);
        String number = text.substring(start, at);
        return fraction ? new Json.Fraction(number) : new Json.Whole(new BigInteger(number));
    }

    /** ASCII only: {@link Character#digit} would take fullwidth and other scripts' digits. */
    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    private int digits() {
        int start = at;
        while (at < text.length() && isDigit(text.charAt(at))) at++;
        return at - start;
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private Json literal(String word, Json value) {
        if (!text.startsWith(word, at)) throw error("unexpected " + shown(text.charAt(at)) + " where a value should be", at, false);
        at += word.length();
        if (at < text.length() && Character.isLetterOrDigit(text.charAt(at))) {
            throw error("unexpected " + shown(text.charAt(at)) + " after " + word, at, false);
        }
        return value;
    }

    private void expect(char c, String where) {
        if (at == text.length()) throw error("the text ends where '" + c + "' should be " + where, at, false);
        if (text.charAt(at) != c) throw error("expected '" + c + "' " + where + ", found " + shown(text.charAt(at)), at, false);
        at++;
    }

    private boolean next(String c) {
        if (!text.startsWith(c, at)) return false;
        at += c.length();
        return true;
    }

    /** JSON's white space only: a form feed or a no-break space is an error, as RFC 8259 has it. */
    private void skipSpace() {
        while (at < text.length()) {
            char c = text.charAt(at);
            if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return;
            at++;
        }
    }

    /** Printable ASCII only, at most 64 characters: a message stays one safe line. */
    private static String printable(String text) {
        StringBuilder out = new StringBuilder();
        text.chars().limit(64).forEach(c -> out.append(c >= ' ' && c < 0x7f ? (char) c : '?'));
        return text.length() > 64 ? out + "..." : out.toString();
    }

    private static String shown(char c) {
        return c < 0x20 || c == 0x7f ? "character " + (int) c : "'" + printable(String.valueOf(c)) + "'";
    }

    private int column(int offset) {
        return offset - text.lastIndexOf('\n', offset - 1);
    }

    private Json.SyntaxError error(String problem, int offset, boolean trailing) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (text.charAt(i) == '\n') line++;
        }
        return new Json.SyntaxError(problem, line, column(offset), trailing);
    }

    static void write(Json value, StringBuilder out) {
        switch (value) {
            case Json.Obj o -> {
                out.append('{');
                boolean first = true;
                for (Map.Entry<String, Json> field : o.fields().entrySet()) {
                    if (!first) out.append(',');
                    first = false;
                    writeString(field.getKey(), out);
                    out.append(':');
                    write(field.getValue(), out);
                }
                out.append('}');
            }
            case Json.Arr a -> {
                out.append('[');
                for (int i = 0; i < a.elements().size(); i++) {
                    if (i > 0) out.append(',');
                    write(a.elements().get(i), out);
                }
                out.append(']');
            }
            case Json.Str s -> writeString(s.value(), out);
            case Json.Whole w -> out.append(w.value());
            case Json.Fraction f -> out.append(f.text());
            case Json.Bool b -> out.append(b.value());
            case Json.Null n -> out.append("null");
        }
    }

    private static void writeString(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append("\\u00").append(HEX[c >> 4]).append(HEX[c & 0xf]);
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
