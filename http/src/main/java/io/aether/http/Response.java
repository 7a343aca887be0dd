package io.aether.http;

import java.io.IOException;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/** What a handler answers when it succeeds; failures are {@link ApiError}s. */
public sealed interface Response {

    /** A JSON body: {@code body} as Jackson writes it. */
    record Json(int status, Object body) implements Response {
        public Json {
            success(status);
            Objects.requireNonNull(body, "body");
        }
    }

    /** A text body of a given media type (Prometheus text, an OpenAPI document, ...). */
    record Text(int status, String contentType, String body) implements Response {
        public Text {
            success(status);
            Objects.requireNonNull(contentType, "contentType");
            Objects.requireNonNull(body, "body");
        }
    }

    /** No body (204, 202). */
    record Empty(int status) implements Response {
        public Empty {
            success(status);
        }
    }

    /**
     * A body written by {@code body} straight to the connection: {@code length} bytes, or
     * chunked when {@code length} is {@link #CHUNKED}. Any status: a daemon whose API has an
     * error format of its own (the inference server's {@code {"error": "..."}}) answers its errors
     * this way; the stack's own refusals stay {@link ApiError}s. {@code body} is called exactly
     * once: with the connection, or, when the request was answered already (its deadline passed),
     * with a sink that drops what it writes, so that whatever the writer holds is given back.
     */
    record Stream(int status, String contentType, Map<String, String> headers, long length, Writer body) implements Response {
        public static final long CHUNKED = -1;

        public Stream {
            if (status < 200 || status > 599) {
                throw new IllegalArgumentException("a status is 200..599, got " + status);
            }
            Objects.requireNonNull(contentType, "contentType");
            headers = Map.copyOf(headers);
            if (length < CHUNKED) {
                throw new IllegalArgumentException("a body length is " + CHUNKED + " (chunked) or more, got " + length);
            }
            Objects.requireNonNull(body, "body");
        }

        /** Writes a {@link Stream}'s body. */
        @FunctionalInterface
        public interface Writer {
            void writeTo(OutputStream out) throws IOException;
        }
    }

    /**
     * A server-sent event stream: {@code replay} first, then what {@code hub} publishes, until
     * the peer goes away, falls too far behind (dropped), or the hub or the server closes.
     */
    record Events(EventHub hub, List<Event> replay) implements Response {
        public Events {
            Objects.requireNonNull(hub, "hub");
            replay = List.copyOf(replay);
        }
    }

    private static void success(int status) {
        if (status < 200 || status > 299) {
            throw new IllegalArgumentException("a response answers 2xx (errors are ApiErrors), got " + status);
        }
    }

    /** 200 with {@code body} as JSON. */
    static Response ok(Object body) {
        return new Json(200, body);
    }
}
