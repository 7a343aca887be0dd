package io.aether.bench.ai;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import io.aether.ai.Dim;
import io.aether.ai.ElementType;
import io.aether.ai.InferenceRuntime;
import io.aether.ai.InferenceServer;
import io.aether.ai.ModelSource;
import io.aether.ai.RuntimeConfig;
import io.aether.ai.ServerConfig;
import io.aether.ai.Tensor;
import io.aether.ai.TensorWireFormat;
import io.aether.ai.onnx.OnnxModelBuilder;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Inference latency through the HTTP endpoint against a direct {@code OrtSession.run} in the
 * same process, on the same model and inputs: a two-layer perceptron (X[N,64] -> 64 -> 16, ReLU)
 * written by {@link OnnxModelBuilder}. Each path runs {@code --warmup} requests, then
 * {@code --requests} timed ones, one at a time; the table gives p50/p99 and their ratio to the
 * direct call. A last part runs concurrent clients to show what batching does to throughput.
 *
 * <p>Run by {@code bench/ai-bench.sh}; options: {@code --requests N --warmup N --clients N}.
 */
public final class InferenceBench {

    static final int IN = 64;
    static final int HIDDEN = 64;
    static final int OUT = 16;
    /** The concurrent part's model is larger, so that compute (what batching amortizes) dominates the HTTP cost. */
    static final int BIG_IN = 256;
    static final int BIG_HIDDEN = 1024;
    static final int BIG_OUT = 256;

    private InferenceBench() {
    }

    public static void main(String[] args) throws Exception {
        int requests = 5000;
        int warmup = 2000;
        int clients = 8;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--clients" -> clients = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + " (use --requests N, --warmup N, --clients N)");
            }
        }
        byte[] model = model(IN, HIDDEN, OUT);
        float[] x = new float[IN];
        Random random = new Random(7);
        for (int i = 0; i < IN; i++) {
            x[i] = random.nextFloat() * 2 - 1;
        }
        System.out.printf(Locale.ROOT, "model: MLP %d-%d-%d (%d bytes), input float[1,%d]; %d timed requests after"
                + " %d warm-up, one at a time%n", IN, HIDDEN, OUT, model.length, IN, requests, warmup);
        System.out.printf(Locale.ROOT, "JVM %s, %d CPUs%n%n", Runtime.version(), Runtime.getRuntime().availableProcessors());

        List<Row> rows = new ArrayList<>();
        OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "aether");
        float[] expected;
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(model, options)) {
                expected = direct(env, session, x);
                rows.add(measure("direct OrtSession.run (same process)", warmup, requests, () -> direct(env, session, x)));
            }
        }

        ModelSource source = new FixedSource(model);
        Tensor input = Tensor.ofFloats(new long[] {1, IN}, x);
        String json = json(x);
        byte[] binary = TensorWireFormat.encode(Map.of("X", input));
        for (Duration delay : List.of(Duration.ZERO, Duration.ofMillis(2))) {
            String d = delay.isZero() ? "batch delay 0" : "batch delay " + delay.toNanos() / 1_000_000 + " ms";
            try (InferenceRuntime runtime = InferenceRuntime.start(RuntimeConfig.defaults().withBatchDelay(delay));
                 InferenceServer server = InferenceServer.start(runtime, ServerConfig.defaults()
                         .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
                runtime.deploy("mlp", source, "main");
                check(expected, runtime.predict("mlp", Map.of("X", input)).output("Y").toFloats());
                rows.add(measure("runtime.predict, in process (" + d + ")", warmup, requests,
                        () -> runtime.predict("mlp", Map.of("X", input)).output("Y").toFloats()));
                HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                URI uri = server.uri().resolve("/v1/models/mlp:predict");
                if (delay.isZero()) {
                    URI health = server.uri().resolve("/healthz");
                    rows.add(measure("HTTP GET /healthz (the HTTP round trip alone, no inference)", warmup, requests,
                            () -> client.send(HttpRequest.newBuilder(health).build(),
                                    HttpResponse.BodyHandlers.ofByteArray()).body()));
                }
                rows.add(measure("HTTP endpoint, JSON (" + d + ")", warmup, requests, () -> post(client, uri,
                        "application/json", json.getBytes())));
                rows.add(measure("HTTP endpoint, binary tensors (" + d + ")", warmup, requests, () -> post(client, uri,
                        TensorWireFormat.MEDIA_TYPE, binary)));
                try (RawHttp raw = new RawHttp(server.address())) {
                    rows.add(measure("HTTP endpoint, binary tensors, plain socket client (" + d + ")", warmup, requests,
                            () -> raw.post("/v1/models/mlp:predict", TensorWireFormat.MEDIA_TYPE, binary)));
                }
            }
        }
        print(rows);

        byte[] big = model(BIG_IN, BIG_HIDDEN, BIG_OUT);
        float[] bigX = new float[BIG_IN];
        for (int i = 0; i < BIG_IN; i++) {
            bigX[i] = random.nextFloat() * 2 - 1;
        }
        byte[] bigBody = TensorWireFormat.encode(Map.of("X", Tensor.ofFloats(new long[] {1, BIG_IN}, bigX)));
        System.out.printf(Locale.ROOT, "%n%d concurrent clients, binary tensors, %d requests each after warm-up, model MLP"
                + " %d-%d-%d (%d bytes):%n%n", clients, Math.max(1, requests / clients), BIG_IN, BIG_HIDDEN, BIG_OUT,
                big.length);
        System.out.println("| batching | requests/s | p50 µs | p99 µs | session runs | rows per run |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        for (RuntimeConfig config : List.of(RuntimeConfig.defaults().withBatchMax(1),
                RuntimeConfig.defaults().withBatchDelay(Duration.ZERO),
                RuntimeConfig.defaults().withBatchDelay(Duration.ofMillis(2)))) {
            concurrent(config, new FixedSource(big), bigBody, clients, warmup, Math.max(1, requests / clients));
        }
    }

    /** Y = Relu(X·W1 + B1)·W2 + B2 with fixed pseudo-random weights. */
    static byte[] model(int in, int hidden, int out) {
        Random r = new Random(42);
        return OnnxModelBuilder.create("mlp")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(in))
                .initializer("W1", Tensor.ofFloats(new long[] {in, hidden}, weights(r, in * hidden)))
                .initializer("B1", Tensor.ofFloats(new long[] {hidden}, weights(r, hidden)))
                .initializer("W2", Tensor.ofFloats(new long[] {hidden, out}, weights(r, hidden * out)))
                .initializer("B2", Tensor.ofFloats(new long[] {out}, weights(r, out)))
                .node("MatMul", List.of("X", "W1"), List.of("H0"))
                .node("Add", List.of("H0", "B1"), List.of("H1"))
                .node("Relu", List.of("H1"), List.of("H"))
                .node("MatMul", List.of("H", "W2"), List.of("Y0"))
                .node("Add", List.of("Y0", "B2"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(out))
                .build();
    }

    private static float[] weights(Random r, int n) {
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (r.nextGaussian() * 0.2);
        }
        return w;
    }

    /** What a caller of ONNX Runtime does per request: build the input tensor, run, copy the output out. */
    private static float[] direct(OrtEnvironment env, OrtSession session, float[] x) throws OrtException {
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {1, IN});
             OrtSession.Result r = session.run(Map.of("X", t))) {
            FloatBuffer out = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] y = new float[out.remaining()];
            out.get(y);
            return y;
        }
    }

    private static String json(float[] x) {
        StringBuilder b = new StringBuilder("{\"inputs\": {\"X\": {\"shape\": [1, ").append(IN).append("], \"data\": [");
        for (int i = 0; i < x.length; i++) {
            b.append(i == 0 ? "" : ", ").append(x[i]);
        }
        return b.append("]}}}").toString();
    }

    private static Object post(HttpClient client, URI uri, String type, byte[] body) throws Exception {
        HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(uri).header("Content-Type", type)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("HTTP " + r.statusCode() + ": " + new String(r.body()));
        }
        return r.body();
    }

    private static void check(float[] expected, float[] got) {
        if (!Arrays.equals(expected, got)) {
            throw new IllegalStateException("the runtime's answer differs from the direct call's");
        }
    }

    private interface Call {
        Object call() throws Exception;
    }

    record Row(String path, long[] sortedNanos) {
        double percentile(double p) {
            int i = (int) Math.ceil(p / 100 * sortedNanos.length) - 1;
            return sortedNanos[Math.max(0, Math.min(sortedNanos.length - 1, i))] / 1000.0;
        }

        double mean() {
            return Arrays.stream(sortedNanos).average().orElse(0) / 1000.0;
        }
    }

    private static Row measure(String path, int warmup, int requests, Call call) throws Exception {
        for (int i = 0; i < warmup; i++) {
            call.call();
        }
        long[] nanos = new long[requests];
        for (int i = 0; i < requests; i++) {
            long t = System.nanoTime();
            call.call();
            nanos[i] = System.nanoTime() - t;
        }
        Arrays.sort(nanos);
        return new Row(path, nanos);
    }

    private static void print(List<Row> rows) {
        Row direct = rows.getFirst();
        System.out.println("| path | p50 µs | p99 µs | mean µs | p50 / direct | p99 / direct |");
        System.out.println("|---|---:|---:|---:|---:|---:|");
        for (Row r : rows) {
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.1f | %.1f | %.2f | %.2f |%n", r.path(), r.percentile(50),
                    r.percentile(99), r.mean(), r.percentile(50) / direct.percentile(50),
                    r.percentile(99) / direct.percentile(99));
        }
    }

    private static void concurrent(RuntimeConfig config, ModelSource source, byte[] body, int clients, int warmup,
                                   int perClient) throws Exception {
        try (InferenceRuntime runtime = InferenceRuntime.start(config);
             InferenceServer server = InferenceServer.start(runtime, ServerConfig.defaults()
                     .withAddress(new InetSocketAddress("127.0.0.1", 0)))) {
            runtime.deploy("mlp", source, "main");
            URI uri = server.uri().resolve("/v1/models/mlp:predict");
            List<long[]> all = new ArrayList<>();
            long elapsed = 0;
            long runsBefore = 0;
            for (int phase = 0; phase < 2; phase++) {
                int n = phase == 0 ? Math.max(1, warmup / clients) : perClient;
                if (phase == 1) {
                    runsBefore = runtime.status("mlp").orElseThrow().stable().runs();
                }
                long start = System.nanoTime();
                try (ExecutorService pool = Executors.newFixedThreadPool(clients)) {
                    List<Future<long[]>> futures = new ArrayList<>();
                    for (int c = 0; c < clients; c++) {
                        futures.add(pool.submit(() -> {
                            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                            long[] nanos = new long[n];
                            for (int i = 0; i < n; i++) {
                                long t = System.nanoTime();
                                post(client, uri, TensorWireFormat.MEDIA_TYPE, body);
                                nanos[i] = System.nanoTime() - t;
                            }
                            return nanos;
                        }));
                    }
                    if (phase == 1) {
                        for (Future<long[]> f : futures) {
                            all.add(f.get());
                        }
                    } else {
                        for (Future<long[]> f : futures) {
                            f.get();
                        }
                    }
                }
                elapsed = System.nanoTime() - start;
            }
            long runs = runtime.status("mlp").orElseThrow().stable().runs() - runsBefore;
            long[] merged = all.stream().flatMapToLong(Arrays::stream).sorted().toArray();
            Row r = new Row("", merged);
            String batching = config.batchMax() == 1 ? "off"
                    : "max " + config.batchMax() + ", delay " + config.batchDelay().toNanos() / 1e6 + " ms";
            System.out.printf(Locale.ROOT, "| %s | %.0f | %.1f | %.1f | %d | %.2f |%n", batching,
                    merged.length / (elapsed / 1e9), r.percentile(50), r.percentile(99), runs,
                    (double) merged.length / runs);
        }
    }

    /**
     * A minimal HTTP/1.1 keep-alive client on one socket, to tell the JDK HttpClient's own cost
     * apart from the server's: writes a request, reads headers to the blank line and then
     * Content-Length bytes.
     */
    private static final class RawHttp implements AutoCloseable {
        private final Socket socket;
        private final OutputStream out;
        private final InputStream in;

        RawHttp(InetSocketAddress address) throws IOException {
            socket = new Socket(address.getAddress(), address.getPort());
            socket.setTcpNoDelay(true);
            out = new BufferedOutputStream(socket.getOutputStream());
            in = new BufferedInputStream(socket.getInputStream());
        }

        byte[] post(String path, String type, byte[] body) throws IOException {
            out.write(("POST " + path + " HTTP/1.1\r\nHost: bench\r\nContent-Type: " + type + "\r\nContent-Length: "
                    + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int c = in.read();
                if (c < 0) {
                    throw new IOException("connection closed");
                }
                head.append((char) c);
            }
            String h = head.toString();
            if (!h.startsWith("HTTP/1.1 200")) {
                throw new IllegalStateException(h.lines().findFirst().orElse(h));
            }
            int at = h.toLowerCase(Locale.ROOT).indexOf("content-length:");
            int length = Integer.parseInt(h.substring(at + 15, h.indexOf('\r', at)).strip());
            return in.readNBytes(length);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** One version, "main", of one model. */
    private record FixedSource(byte[] model) implements ModelSource {
        @Override
        public String resolve(String ref) {
            return "v1";
        }

        @Override
        public byte[] read(String version) {
            return model.clone();
        }

        @Override
        public String describe() {
            return "benchmark model";
        }
    }
}
