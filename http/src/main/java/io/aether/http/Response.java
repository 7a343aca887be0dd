package io.aether.http;

import java.util.List;
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
