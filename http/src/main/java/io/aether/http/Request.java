package io.aether.http;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A routed request with its whole body (within the route's limit) already read. */
public final class Request {

    private final String method;
    private final String path;
    private final Map<String, String> params;
    private final Map<String, List<String>> query;
    private final byte[] body;
    private final Peer peer;
    private final Instant deadline;

    Request(String method, String path, Map<String, String> params, Map<String, List<String>> query, byte[] body, Peer peer,
            Instant deadline) {
        this.method = method;
        this.path = path;
        this.params = Map.copyOf(params);
        this.query = Map.copyOf(query);
        this.body = body;
        this.peer = peer;
        this.deadline = deadline;
    }

    public String method() {
        return method;
    }

    /** The decoded path. */
    public String path() {
        return path;
    }

    /** A path parameter of the route's template, already validated. */
    public String param(String name) {
        String v = params.get(name);
        if (v == null) {
            throw new IllegalArgumentException("the route of " + path + " has no parameter {" + name + "}");
        }
        return v;
    }

    /** The first value of a query parameter. */
    public Optional<String> query(String name) {
        List<String> values = query.getOrDefault(name, List.of());
        return values.isEmpty() ? Optional.empty() : Optional.of(values.getFirst());
    }

    /**
     * The JSON body as {@code type} (a record, usually).
     *
     * @throws ApiException 400 naming the field that is missing, unknown, of the wrong type or
     *                      refused by the type's constructor
     */
    public <T> T body(Class<T> type) {
        return Json.read(body, type);
    }

    public Peer peer() {
        return peer;
    }

    /** When this request's deadline passes (the handler is interrupted then). */
    public Instant deadline() {
        return deadline;
    }
}
