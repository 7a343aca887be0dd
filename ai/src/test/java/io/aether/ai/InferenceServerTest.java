package io.aether.ai;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class InferenceServerTest {

    private static final String BINARY = TensorWireFormat.MEDIA_TYPE;
    private static final String TOKEN = "test-admin-token-0123456789";

    private final InMemorySource source = new InMemorySource();
    private final String v1 = source.put("main", TestModels.linear());
    private InferenceRuntime runtime;
    private InferenceServer server;
    private Http http;

    @BeforeEach
    void start() throws Exception {
        runtime = InferenceRuntime.start(RuntimeConfig.defaults());
        runtime.deploy("lin", source, "main");
        server = InferenceServer.start(runtime, ServerConfig.defaults()
                .withAddress(new InetSocketAddress("127.0.0.1", 0)).withMaxBodyBytes(4096).withAdminToken(AdminToken.of(TOKEN)));
        http = new Http(server.uri());
    }

    @AfterEach
    void stop() {
        server.close();
        runtime.close();
    }

    @Test
    void theServerSendsWithoutNaglesDelay() throws Exception {
        // A chunked answer ends with a small write: with Nagle's algorithm on it waits for the
        // client's delayed ACK, 40 ms or more on Linux, on every request of a kept-alive connection.
        long[] millis = new long[15];
        for (int i = 0; i < millis.length; i++) {
            long start = System.nanoTime();
            assertEquals(200, http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}").statusCode());
            millis[i] = (System.nanoTime() - start) / 1_000_000;
        }
        java.util.Arrays.sort(millis);
        assertTrue(millis[millis.length / 2] < 35, "median " + millis[millis.length / 2] + " ms: " + java.util.Arrays.toString(millis));
    }

    @Test
    void healthz() throws Exception {
        HttpResponse<byte[]> r = http.get("/healthz");
        assertEquals(200, r.statusCode());
        assertEquals("{\"status\":\"ok\",\"models\":1}", new String(r.body()));
    }

    @Test
    void metadataGivesVersionsNamesTypesAndSymbolicShapes() throws Exception {
        HttpResponse<byte[]> r = http.get("/v1/models/lin");
        assertEquals(200, r.statusCode());
        JsonNode m = Http.json(r);
        assertEquals("lin", m.get("name").asText());
        JsonNode v = m.get("versions").get(0);
        assertEquals(v1, v.get("version").asText());
        assertEquals("main", v.get("ref").asText());
        assertEquals("stable", v.get("role").asText());
        assertEquals(100.0, v.get("percent").asDouble());
        assertTrue(v.get("batching").asBoolean());
        assertEquals("[{\"name\":\"X\",\"type\":\"float\",\"shape\":[\"N\",3]}]", v.get("inputs").toString());
        assertEquals("[{\"name\":\"Y\",\"type\":\"float\",\"shape\":[\"N\",2]}]", v.get("outputs").toString());
        assertEquals(1, Http.json(http.get("/v1/models")).get("models").size());
    }

    @Test
    void jsonPredictMatchesTheHandComputation() throws Exception {
        HttpResponse<byte[]> r = http.postJson("/v1/models/lin:predict",
                "{\"inputs\": {\"X\": {\"shape\": [2, 3], \"data\": [1, 2, 3, -1, 0, 1]}}}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals(v1, r.headers().firstValue(InferenceServer.VERSION_HEADER).orElseThrow());
        JsonNode body = Http.json(r);
        assertEquals(v1, body.get("version").asText());
        assertEquals("lin", body.get("model").asText());
        JsonNode y = body.get("outputs").get("Y");
        assertEquals("[2,2]", y.get("shape").toString());
        assertEquals("[2.5,6.0,0.0,2.0]", y.get("data").toString());
        // The nested form gives the same answer.
        HttpResponse<byte[]> nested = http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3], [-1, 0, 1]]}}");
        assertEquals(y, Http.json(nested).get("outputs").get("Y"));
    }

    @Test
    void binaryPredict() throws Exception {
        byte[] request = TensorWireFormat.encode(Map.of("X", Tensor.ofFloats(new long[] {1, 3}, 1, 2, 3)));
        HttpResponse<byte[]> r = http.post("/v1/models/lin:predict", BINARY, request);
        assertEquals(200, r.statusCode());
        assertEquals(BINARY, r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals(v1, r.headers().firstValue(InferenceServer.VERSION_HEADER).orElseThrow());
        Tensor y = TensorWireFormat.decode(r.body()).get("Y");
        assertArrayEquals(new float[] {2.5f, 6}, y.toFloats());
        // binary in, JSON out when asked
        HttpResponse<byte[]> json = http.post("/v1/models/lin:predict", BINARY, request, "Accept", "application/json");
        assertEquals("[2.5,6.0]", Http.json(json).get("outputs").get("Y").get("data").toString());
        // JSON in, binary out when asked
        HttpResponse<byte[]> bin = http.post("/v1/models/lin:predict", "application/json",
                "{\"inputs\": {\"X\": [[1, 2, 3]]}}".getBytes(), "Accept", BINARY);
        assertEquals(Tensor.ofFloats(new long[] {1, 2}, 2.5f, 6), TensorWireFormat.decode(bin.body()).get("Y"));
    }

    @Test
    void theLongestModelNameTheRuntimeAcceptsIsServed() throws Exception {
        String longest = "m" + "x".repeat(127);
        runtime.deploy(longest, source, "main");
        HttpResponse<byte[]> r = http.postJson("/v1/models/" + longest + ":predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}");
        assertEquals(200, r.statusCode(), new String(r.body()));
        assertEquals(longest, Http.json(r).get("model").asText());
        assertEquals(200, http.get("/v1/models/" + longest).statusCode());
    }

    @Test
    void aSpecificVersionCanBeAskedFor() throws Exception {
        HttpResponse<byte[]> r = http.postJson("/v1/models/lin/versions/" + v1 + ":predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}");
        assertEquals(200, r.statusCode());
        HttpResponse<byte[]> missing = http.postJson("/v1/models/lin/versions/abc:predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}");
        assertEquals(404, missing.statusCode());
        assertEquals("model 'lin' has no loaded version 'abc'", Http.error(missing));
    }

    @Test
    void badInputsAnswer400NamingTheInput() throws Exception {
        assertBad("input 'X': expected shape [N,3], got [1,4]", "{\"inputs\": {\"X\": [[1, 2, 3, 4]]}}");
        assertBad("input 'X': expected element type float, got int64",
                "{\"inputs\": {\"X\": {\"type\": \"int64\", \"data\": [[1, 2, 3]]}}}");
        assertBad("missing input 'X' (expected float[N,3])", "{\"inputs\": {}}");
        assertBad("unknown input 'Z'; the model's inputs are: X", "{\"inputs\": {\"Z\": [1], \"X\": [[1, 2, 3]]}}");
        HttpResponse<byte[]> malformed = http.postJson("/v1/models/lin:predict", "{\"inputs\": ");
        assertEquals(400, malformed.statusCode());
        assertTrue(Http.error(malformed).startsWith("malformed JSON"), Http.error(malformed));

        byte[] wrongType = TensorWireFormat.encode(Map.of("X", Tensor.ofLongs(new long[] {1, 3}, 1, 2, 3)));
        HttpResponse<byte[]> r = http.post("/v1/models/lin:predict", BINARY, wrongType);
        assertEquals(400, r.statusCode());
        assertEquals("input 'X': expected element type float, got int64", Http.error(r));
        HttpResponse<byte[]> garbage = http.post("/v1/models/lin:predict", BINARY, "nonsense".getBytes());
        assertEquals(400, garbage.statusCode());
        assertTrue(Http.error(garbage).contains("no AETN magic"));
    }

    private void assertBad(String message, String json) throws Exception {
        HttpResponse<byte[]> r = http.postJson("/v1/models/lin:predict", json);
        assertEquals(400, r.statusCode(), json);
        assertEquals(message, Http.error(r));
    }

    @Test
    void protocolErrors() throws Exception {
        assertEquals(404, http.postJson("/v1/models/nope:predict", "{\"inputs\": {}}").statusCode());
        assertEquals("no model 'nope' is deployed", Http.error(http.postJson("/v1/models/nope:predict", "{\"inputs\": {}}")));
        assertEquals(404, http.get("/v1/models/nope").statusCode());
        assertEquals(404, http.get("/elsewhere").statusCode());
        assertEquals(404, http.postJson("/v1/models/lin:explode", "{}").statusCode());
        HttpResponse<byte[]> get = http.get("/v1/models/lin:predict");
        assertEquals(405, get.statusCode());
        assertEquals("POST", get.headers().firstValue("Allow").orElseThrow());
        HttpResponse<byte[]> text = http.post("/v1/models/lin:predict", "text/plain", "1,2,3".getBytes());
        assertEquals(415, text.statusCode());
        HttpResponse<byte[]> big = http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[" + "1,".repeat(3000) + "1]]}}");
        assertEquals(413, big.statusCode());
        assertEquals("request body is larger than the limit of 4096 bytes", Http.error(big));
        // the server still answers after all that
        assertEquals(200, http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}").statusCode());
    }

    @Test
    void adminSwitchCanaryPromoteRollback() throws Exception {
        String v2 = source.put("v2", TestModels.linear(new float[] {1, 0, 0, 1, 0, 0}, new float[] {0, 0}));
        source.put("broken", "not a model".getBytes(StandardCharsets.UTF_8));

        HttpResponse<byte[]> bad = admin("/v1/models/lin:switch", "{\"ref\": \"broken\"}");
        assertEquals(422, bad.statusCode());
        assertTrue(Http.error(bad).contains("is not a valid ONNX model"), Http.error(bad));
        assertEquals(404, admin("/v1/models/lin:switch", "{\"ref\": \"nowhere\"}").statusCode());
        assertEquals(400, admin("/v1/models/lin:switch", "{\"branch\": \"v2\"}").statusCode());
        assertEquals(v1, predictVersion());

        HttpResponse<byte[]> canary = admin("/v1/models/lin:canary", "{\"ref\": \"v2\", \"percent\": 50}");
        assertEquals(200, canary.statusCode(), new String(canary.body()));
        assertEquals("canary", Http.json(canary).get("versions").get(1).get("role").asText());
        String a = predictVersion();
        String b = predictVersion();
        assertEquals(Set.of(v1, v2), Set.of(a, b));
        assertEquals(400, admin("/v1/models/lin:canary", "{\"ref\": \"v2\", \"percent\": 100}").statusCode());

        assertEquals(200, admin("/v1/models/lin:rollback", "").statusCode());
        assertEquals(v1, predictVersion());
        assertEquals(409, admin("/v1/models/lin:promote", "").statusCode());

        admin("/v1/models/lin:canary", "{\"ref\": \"v2\", \"percent\": 10}");
        HttpResponse<byte[]> promoted = admin("/v1/models/lin:promote", "");
        assertEquals(200, promoted.statusCode());
        assertEquals(v2, Http.json(promoted).get("versions").get(0).get("version").asText());
        assertEquals(v2, predictVersion());

        assertEquals(200, admin("/v1/models/lin:switch", "{\"ref\": \"main\"}").statusCode());
        assertEquals(v1, predictVersion());
    }

    @Test
    void aSwitchToAnUnknownRefIsAClientErrorNotALoadFailure() throws Exception {
        source.put("broken", "not a model".getBytes(StandardCharsets.UTF_8));
        assertEquals(404, admin("/v1/models/lin:switch", "{\"ref\": \"nowhere\"}").statusCode());
        assertEquals(404, admin("/v1/models/lin:canary", "{\"ref\": \"nowhere\", \"percent\": 5}").statusCode());
        PrometheusText m = PrometheusText.parse(new String(http.get("/metrics").body(), StandardCharsets.UTF_8));
        assertTrue(m.samples.stream().noneMatch(s -> s.name().equals("aether_model_load_failures_total")),
                "no load failure: " + m.samples);
        assertEquals(2, m.value("aether_http_requests_total", Map.of("endpoint", "admin", "model", "lin", "code", "404")));
        // A version that exists and cannot load is a load failure.
        assertEquals(422, admin("/v1/models/lin:switch", "{\"ref\": \"broken\"}").statusCode());
        m = PrometheusText.parse(new String(http.get("/metrics").body(), StandardCharsets.UTF_8));
        assertEquals(1, m.value("aether_model_load_failures_total", Map.of("model", "lin")));
    }

    /** An admin request as a client with the token sends it. */
    private HttpResponse<byte[]> admin(String path, String json) throws Exception {
        return http.post(path, "application/json", json.getBytes(StandardCharsets.UTF_8), "Authorization", "Bearer " + TOKEN);
    }

    private String predictVersion() throws Exception {
        HttpResponse<byte[]> r = http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}");
        assertEquals(200, r.statusCode());
        return Http.json(r).get("version").asText();
    }

    @Test
    void aClientThatStopsMidRequestIsCutOffAndOthersAreServed() throws Exception {
        try (InferenceServer guarded = InferenceServer.start(runtime, ServerConfig.defaults()
                .withAddress(new InetSocketAddress("127.0.0.1", 0)), java.time.Duration.ofMillis(300));
             java.net.Socket s = new java.net.Socket("127.0.0.1", guarded.address().getPort())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(("POST /v1/models/lin:predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 900\r\n\r\n{\"inputs\": ").getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            for (int i = 0; i < 300 && guarded.stalledConnections() == 0; i++) {
                Thread.sleep(100);
            }
            assertEquals(1, guarded.stalledConnections(), "the stalled request was cut off");
            HttpResponse<byte[]> ok = new Http(guarded.uri()).postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}");
            assertEquals(200, ok.statusCode());
        }
    }

    @Test
    void adminEndpointsAreOffUnlessEnabled() throws Exception {
        try (InferenceServer closed = InferenceServer.start(runtime, ServerConfig.defaults()
                .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
            HttpResponse<byte[]> r = new Http(closed.uri()).postJson("/v1/models/lin:switch", "{\"ref\": \"main\"}");
            assertEquals(403, r.statusCode());
            assertTrue(Http.error(r).contains("--admin"));
        }
    }

    @Test
    void metricsAreParsablePrometheusTextWithTheExpectedSeries() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertEquals(200, http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1, 2, 3]]}}").statusCode());
        }
        assertEquals(400, http.postJson("/v1/models/lin:predict", "{\"inputs\": {\"X\": [[1]]}}").statusCode());
        HttpResponse<byte[]> r = http.get("/metrics");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain; version=0.0.4"));
        PrometheusText m = PrometheusText.parse(new String(r.body(), StandardCharsets.UTF_8));
        Map<String, String> version = Map.of("model", "lin", "version", v1);
        assertEquals("histogram", m.types.get("aether_inference_request_duration_seconds"));
        assertEquals(3, m.value("aether_inference_request_duration_seconds_count", version));
        assertEquals(3, m.value("aether_inference_batch_size_count", version));
        assertEquals(3, m.value("aether_inference_run_duration_seconds_count", version));
        assertEquals(3, m.value("aether_inference_requests_total",
                Map.of("model", "lin", "version", v1, "outcome", "ok")));
        assertEquals(1, m.value("aether_inference_requests_total",
                Map.of("model", "lin", "version", v1, "outcome", "invalid_input")));
        assertEquals(100, m.value("aether_model_traffic_percent", Map.of("model", "lin", "version", v1, "role", "stable")));
        assertEquals(3, m.value("aether_http_requests_total", Map.of("endpoint", "predict", "model", "lin", "code", "200")));
        assertEquals(1, m.value("aether_http_requests_total", Map.of("endpoint", "predict", "model", "lin", "code", "400")));
        assertEquals(3, m.value("aether_http_predict_duration_seconds_count", Map.of("model", "lin")));
    }
}
