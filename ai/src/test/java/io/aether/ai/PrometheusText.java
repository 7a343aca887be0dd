package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text format 0.0.4 for tests: it fails on any line the
 * format does not allow, on samples of undeclared families, and on histograms whose buckets
 * are not cumulative or whose +Inf bucket differs from their count.
 */
final class PrometheusText {

    record Sample(String name, Map<String, String> labels, double value) {
    }

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\[\\\\\"n])*)\"(,|$)");

    final List<Sample> samples = new ArrayList<>();
    final Map<String, String> types = new LinkedHashMap<>();

    /** Writes {@code registry} with the client library's text writer and parses the text. */
    static PrometheusText scrape(PrometheusRegistry registry) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
        return parse(out.toString(StandardCharsets.UTF_8));
    }

    static PrometheusText parse(String text) {
        PrometheusText p = new PrometheusText();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ", 4);
                assertTrue(NAME.matcher(parts[2]).matches(), line);
                if (parts[1].equals("TYPE")) {
                    assertTrue(List.of("counter", "gauge", "histogram", "summary", "untyped").contains(parts[3]), line);
                    assertEquals(null, p.types.put(parts[2], parts[3]), "family declared twice: " + line);
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            if (!m.matches()) {
                fail("not a sample line: " + line);
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(3) != null && !m.group(3).isEmpty()) {
                Matcher l = LABEL.matcher(m.group(3));
                int at = 0;
                while (l.find() && l.start() == at) {
                    labels.put(l.group(1), l.group(2).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\"));
                    at = l.end();
                }
                assertEquals(m.group(3).length(), at, "bad labels in " + line);
            }
            double value = switch (m.group(4)) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(m.group(4));
            };
            String family = family(m.group(1), p.types);
            assertTrue(family != null, "sample of an undeclared family: " + line);
            p.samples.add(new Sample(m.group(1), labels, value));
        }
        p.checkHistograms();
        return p;
    }

    private static String family(String sample, Map<String, String> types) {
        if (types.containsKey(sample)) {
            return sample;
        }
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            if (sample.endsWith(suffix)) {
                String base = sample.substring(0, sample.length() - suffix.length());
                if ("histogram".equals(types.get(base))) {
                    return base;
                }
            }
        }
        return null;
    }

    private void checkHistograms() {
        Map<String, List<Sample>> buckets = new HashMap<>();
        for (Sample s : samples) {
            if (s.name().endsWith("_bucket")) {
                Map<String, String> key = new LinkedHashMap<>(s.labels());
                key.remove("le");
                buckets.computeIfAbsent(s.name() + key, k -> new ArrayList<>()).add(s);
            }
        }
        for (List<Sample> series : buckets.values()) {
            double previousLe = Double.NEGATIVE_INFINITY;
            double previous = 0;
            for (Sample b : series) {
                String le = b.labels().get("le");
                double bound = le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le);
                assertTrue(bound > previousLe, "le not increasing in " + series);
                assertTrue(b.value() >= previous, "buckets not cumulative in " + series);
                previousLe = bound;
                previous = b.value();
            }
            assertEquals(Double.POSITIVE_INFINITY, previousLe, "no +Inf bucket in " + series);
            Sample first = series.getFirst();
            Map<String, String> labels = new LinkedHashMap<>(first.labels());
            labels.remove("le");
            String base = first.name().substring(0, first.name().length() - "_bucket".length());
            assertEquals(previous, value(base + "_count", labels), "+Inf bucket != count for " + labels);
        }
    }

    /** The cumulative count of the histogram bucket whose upper bound is {@code le}, however the bound is written. */
    double bucket(String histogram, Map<String, String> labels, double le) {
        List<Sample> found = samples.stream().filter(s -> s.name().equals(histogram + "_bucket")
                && !s.labels().get("le").equals("+Inf") && Double.parseDouble(s.labels().get("le")) == le
                && labels.equals(without(s.labels(), "le"))).toList();
        assertEquals(1, found.size(), "bucket le=" + le + " of " + histogram + labels + ": " + found);
        return found.getFirst().value();
    }

    private static Map<String, String> without(Map<String, String> labels, String name) {
        Map<String, String> rest = new LinkedHashMap<>(labels);
        rest.remove(name);
        return rest;
    }

    /** The value of the one sample with this name and exactly these labels. */
    double value(String name, Map<String, String> labels) {
        List<Sample> found = samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).toList();
        assertEquals(1, found.size(), "samples " + name + labels + ": " + found);
        return found.getFirst().value();
    }
}
