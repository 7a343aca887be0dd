package io.aether.http;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Serves a Prometheus registry as the text exposition format 0.0.4, through the Prometheus Java
 * client's own writer: {@code router.get("/metrics", MetricsEndpoint.of(registry))}.
 */
public final class MetricsEndpoint {

    /** The media type of the text format, version included, as Prometheus asks for it. */
    public static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private MetricsEndpoint() {
    }

    /** A handler answering each request with what {@code registry} holds at that moment. */
    public static Handler of(PrometheusRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        return request -> new Response.Text(200, CONTENT_TYPE, text(registry.scrape()));
    }

    /** {@code snapshots} in the text format (for a daemon that merges registries or checks its output). */
    public static String text(MetricSnapshots snapshots) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            WRITER.write(out, snapshots);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
