package io.aether.sync;

import io.aether.http.HttpServer;
import io.aether.http.Limits;
import io.aether.http.Listener;
import io.aether.http.Response;
import io.aether.http.Router;
import io.aether.security.ServerCredentials;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * A server that speaks the sync protocol's HTTP as a test scripts it (to lie to a client), on
 * the same stack and TLS listener as {@link RepoServer}: every {@code /v1} route answers 200
 * with what {@link Script#answer} writes, chunked.
 */
final class FakeServer implements AutoCloseable {

    /** What the fake answers to a request's path and whole body. */
    @FunctionalInterface
    interface Script {
        void answer(String path, DataInputStream body, DataOutputStream out) throws IOException;
    }

    private final HttpServer http;

    private FakeServer(HttpServer http) {
        this.http = http;
    }

    static FakeServer start(ServerCredentials credentials, Script script) throws IOException {
        Router router = new Router();
        for (String path : List.of("/v1/refs", "/v1/history", "/v1/objects", "/v1/missing", "/v1/push", "/v1/update-ref")) {
            router.stream(path.equals("/v1/refs") ? "GET" : "POST", path, req -> {
                DataInputStream body = new DataInputStream(new ByteArrayInputStream(req.bodyStream().readAllBytes()));
                return new Response.Stream(200, "application/octet-stream", Map.of(), Response.Stream.CHUNKED, out -> {
                    DataOutputStream d = new DataOutputStream(out);
                    script.answer(req.path(), body, d);
                    d.flush();
                });
            }, RepoServer.MAX_PUSH_BODY, Limits.DEFAULTS.requestDeadline());
        }
        return new FakeServer(HttpServer.start(List.of(new Listener.Tcp("127.0.0.1", 0, credentials, new Listener.ClientAuth.None())),
                router, Limits.DEFAULTS.withStopGrace(java.time.Duration.ZERO)));
    }

    int port() {
        return http.port();
    }

    @Override
    public void close() {
        http.close();
    }
}
