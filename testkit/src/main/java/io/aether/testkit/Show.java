package io.aether.testkit;

import java.lang.reflect.Array;
import java.util.Collection;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;

/** Failure reports: values as short, readable text (byte arrays as hex), truncated. */
final class Show {

    /** Bytes shown of a byte array; the rest is counted. */
    static final int MAX_BYTES = 64;
    /** Elements shown of an array or a collection. */
    static final int MAX_ELEMENTS = 32;
    /** Characters of one value's text. */
    static final int MAX_CHARS = 2000;

    private Show() {
    }

    /** One line per value, each indented: the first {@code drawn}, then a note on the one whose generator threw. */
    static String values(Object[] values, int drawn) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < drawn; i++) {
            out.append("\n  value ").append(i + 1).append(": ").append(value(values[i]));
        }
        if (drawn < values.length) {
            out.append("\n  value ").append(drawn + 1).append(": (its generator threw)");
        }
        return out.toString();
    }

    static String value(Object value) {
        String text = switch (value) {
            case null -> "null";
            case byte[] bytes -> bytes(bytes);
            case Collection<?> c -> elements(c.iterator(), c.size());
            case Map<?, ?> m -> elements(m.entrySet().iterator(), m.size());
            case Map.Entry<?, ?> e -> value(e.getKey()) + "=" + value(e.getValue());
            case Object o when o.getClass().isArray() -> array(o);
            case Object o -> String.valueOf(o);
        };
        return text.length() <= MAX_CHARS ? text : text.substring(0, MAX_CHARS) + "… (" + text.length() + " characters)";
    }

    private static String bytes(byte[] bytes) {
        String hex = HexFormat.ofDelimiter(" ").formatHex(bytes, 0, Math.min(bytes.length, MAX_BYTES));
        String more = bytes.length > MAX_BYTES ? " …" : "";
        return "[" + bytes.length + " bytes] " + hex + more;
    }

    private static String array(Object array) {
        int length = Array.getLength(array);
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < Math.min(length, MAX_ELEMENTS); i++) {
            out.append(i == 0 ? "" : ", ").append(value(Array.get(array, i)));
        }
        return out.append(more(length)).append(']').toString();
    }

    private static String elements(Iterator<?> it, int size) {
        StringBuilder out = new StringBuilder("[");
        for (int i = 0; i < MAX_ELEMENTS && it.hasNext(); i++) {
            out.append(i == 0 ? "" : ", ").append(value(it.next()));
        }
        return out.append(more(size)).append(']').toString();
    }

    private static String more(int size) {
        return size > MAX_ELEMENTS ? ", … (" + size + " in all)" : "";
    }
}
