package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** Switching versions while clients hammer the endpoint: no request fails, every answer fits its version. */
class VersionSwitchTest {

    @Test
    void switchesUnderConcurrentLoadFailNoRequest() throws Exception {
        InMemorySource source = new InMemorySource();
        Map<String, Float> factorOf = new HashMap<>();
        for (int k = 1; k <= 4; k++) {
            factorOf.put(source.put("v" + k, TestModels.scale(k)), (float) k);
        }
        RuntimeConfig config = RuntimeConfig.defaults().withBatchDelay(Duration.ofMillis(1));
        try (InferenceRuntime runtime = InferenceRuntime.start(config);
             InferenceServer server = InferenceServer.start(runtime, ServerConfig.defaults()
                     .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
            runtime.deploy("s", source, "v1");
            List<LoadedVersion> seen = new ArrayList<>();
            seen.add(runtime.loaded("s", source.resolve("v1")));

            AtomicBoolean stop = new AtomicBoolean();
            LongAdder ok = new LongAdder();
            List<String> failures = new CopyOnWriteArrayList<>();
            Map<String, AtomicInteger> answeredBy = new ConcurrentHashMap<>();
            int clients = 6;
            try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
                List<Future<?>> workers = new ArrayList<>();
                for (int c = 0; c < clients; c++) {
                    int client = c;
                    workers.add(pool.submit(() -> {
                        Http http = new Http(server.uri());
                        int i = 0;
                        while (!stop.get() || i < 20) {
                            float x = client * 1000 + i++;
                            try {
                                HttpResponse<byte[]> r = http.postJson("/v1/models/s:predict",
                                        "{\"inputs\": {\"X\": [[" + x + "]]}}");
                                if (r.statusCode() != 200) {
                                    failures.add(r.statusCode() + " " + new String(r.body()));
                                    continue;
                                }
                                JsonNode body = Http.json(r);
                                String version = body.get("version").asText();
                                float y = (float) body.get("outputs").get("Y").get("data").get(0).asDouble();
                                Float k = factorOf.get(version);
                                if (k == null || y != x * k) {
                                    failures.add("version " + version + " answered " + y + " for " + x);
                                }
                                answeredBy.computeIfAbsent(version, v -> new AtomicInteger()).incrementAndGet();
                                ok.increment();
                            } catch (Exception e) {
                                failures.add(e.toString());
                            }
                        }
                        return null;
                    }));
                }
                // Switch back and forth while the clients run: v2, v3, v4, v1, v2, ...
                for (int s = 0; s < 12; s++) {
                    long before = ok.sum();
                    long giveUp = System.nanoTime() + 60_000_000_000L; // guards against a hang, asserts nothing
                    while (ok.sum() < before + 30 && failures.isEmpty() && System.nanoTime() < giveUp) {
                        Thread.sleep(1);
                    }
                    String ref = "v" + (2 + s % 4 > 4 ? 1 : 2 + s % 4);
                    VersionStatus now = runtime.switchTo("s", ref);
                    seen.add(runtime.loaded("s", now.version()));
                }
                stop.set(true);
                for (Future<?> w : workers) {
                    w.get();
                }
            }
            assertEquals(List.of(), failures);
            assertTrue(ok.sum() >= 12 * 30, "requests answered: " + ok.sum());
            assertEquals(4, answeredBy.size(), "every version answered some requests: " + answeredBy);
            // Every version that was switched away from has drained and closed its session.
            LoadedVersion last = seen.getLast();
            for (LoadedVersion v : seen) {
                assertEquals(v != last, v.isClosed(), v.version);
            }
            assertEquals(0, last.inFlight());
        }
    }
}
