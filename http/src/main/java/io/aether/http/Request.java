package io.aether.http;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A routed request: with its whole body (within the route's limit) already read, or on a route
 * added with {@link Router#stream}, with its body to be read from {@link #bodyStream}.
 */
public final class Request {

    /** Thrown by {@link #bodyStream} once the body goes over the route's limit. */
    public static final class BodyTooLarge extends IOException {
        BodyTooLarge(long limit) {
            super("request body is over this route's limit of " + limit + " bytes");
        }
    }

    private final String method;
    private final String path;
    private final Map<String, String> params;
    private final Map<String, List<String>> query;
    private final byte[] body;
    private final Peer peer;
    private final Instant deadline;
    private final org.eclipse.jetty.http.HttpFields headers;
    private final InputStream stream;

    Request(String method, String path, Map<String, String> params, Map<String, List<String>> query, byte[] body, Peer peer,
            Instant deadline, org.eclipse.jetty.http.HttpFields headers, InputStream stream) {
        this.method = method;
        this.path = path;
        this.params = Map.copyOf(params);
        this.query = Map.copyOf(query);
        this.body = body;
        this.peer = peer;
        this.deadline = deadline;
        this.headers = headers;
        this.stream = stream;
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

    /** The first value of a request header (names are case-insensitive). */
    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.get(name));
    }

    /**
     * The body as it arrives, on a route added with {@link Router#stream}. Reads fail with
     * {@link BodyTooLarge} past the route's limit, and with an {@link IOException} when the peer
     * sends slower than the minimum rate or goes away (the connection is then closed after the
     * answer).
     *
     * @throws IllegalStateException on a route whose body the stack reads
     */
    public InputStream bodyStream() {
        if (stream == null) {
            throw new IllegalStateException(method + " " + path + " is not a streamed route: its body is read already");
        }
        return stream;
    }

    public Peer peer() {
        return peer;
    }

    /** When this request's deadline passes (the handler is interrupted then). */
    public Instant deadline() {
        return deadline;
    }
}
