package io.aether.ai;

import java.math.BigDecimal;

/** Prometheus text exposition format 0.0.4 helpers (prometheus.io/docs/instrumenting/exposition_formats). */
final class Prom {

    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private Prom() {
    }

    static void family(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    /** {@code {k1="v1",k2="v2"}} from alternating keys and values; values escaped. */
    static String labels(String... kv) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) {
                b.append(',');
            }
            b.append(kv[i]).append("=\"");
            escape(b, kv[i + 1]);
            b.append('"');
        }
        return b.append('}').toString();
    }

    /** Label values escape backslash, double quote and line feed. */
    private static void escape(StringBuilder b, String v) {
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
    }

    static void sample(StringBuilder out, String name, String labels, double value) {
        out.append(name).append(labels).append(' ').append(number(value)).append('\n');
    }

    static String number(double v) {
        if (v == Double.POSITIVE_INFINITY) {
            return "+Inf";
        }
        if (v == Double.NEGATIVE_INFINITY) {
            return "-Inf";
        }
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        double a = Math.abs(v);
        return a >= 1e-9 && a < 1e15 ? BigDecimal.valueOf(v).toPlainString() : Double.toString(v);
    }

    /** Appends a label to a label set: {@code {a="b"}} + le → {@code {a="b",le="0.5"}}. */
    static String withLabel(String labels, String key, String value) {
        String extra = key + "=\"" + value + "\"";
        return labels.equals("{}") ? "{" + extra + "}" : labels.substring(0, labels.length() - 1) + "," + extra + "}";
    }
}
