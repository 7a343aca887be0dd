package io.aether.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MetricsEndpointTest {

    @TempDir
    Path dir;

    @Test
    void servesTheRegistryAsPrometheusTextAtEachScrape() throws Exception {
        PrometheusRegistry registry = new PrometheusRegistry();
        Counter boots = Counter.builder().name("aether_test_boots_total").help("Boots.").labelNames("vm").register(registry);
        Gauge free = Gauge.builder().name("aether_test_free_bytes").help("Free \"bytes\".").register(registry);
        boots.labelValues("a\"b").inc(3);
        free.set(1.5);
        Path socket = dir.resolve("api.sock");
        Router router = new Router().get("/metrics", MetricsEndpoint.of(registry));
        try (HttpServer server = HttpServer.start(List.of(new Listener.UnixSocket(socket)), router, Limits.DEFAULTS)) {
            ApiClient client = ApiClient.unix(socket, Duration.ofSeconds(10));
            ApiClient.Reply reply = client.get("/metrics").requireOk();
            assertEquals("text/plain; version=0.0.4; charset=utf-8", reply.headers().get("content-type"));
            // Written out by hand from the text format's specification (prometheus.io, exposition formats):
            // families sorted by name, label values escaped, counters carry their _total name.
            assertEquals("""
                    # HELP aether_test_boots_total Boots.
                    # TYPE aether_test_boots_total counter
                    aether_test_boots_total{vm="a\\"b"} 3.0
                    # HELP aether_test_free_bytes Free "bytes".
                    # TYPE aether_test_free_bytes gauge
                    aether_test_free_bytes 1.5
                    """, reply.text());
            boots.labelValues("a\"b").inc();
            assertEquals("aether_test_boots_total{vm=\"a\\\"b\"} 4.0", client.get("/metrics").text().lines().toList().get(2),
                    "each scrape reads the registry anew");
        }
    }
}
