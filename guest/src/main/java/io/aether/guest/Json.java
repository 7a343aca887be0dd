package io.aether.guest;

import java.util.List;

/** The little JSON output this module writes (strings and lists of strings), escaped per RFC 8259 §7. */
final class Json {

    private Json() {
    }

    static String string(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append("\\u%04x".formatted((int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    static String strings(List<String> values) {
        return "[" + String.join(",", values.stream().map(Json::string).toList()) + "]";
    }
}
