package io.aether.http;

import java.time.Duration;
import java.util.Objects;

/**
 * One method and path template with its handler and limits.
 *
 * @param maxBodyBytes the largest body accepted (0: none)
 * @param deadline     head to response, body included
 * @param streamed     the handler reads the body itself ({@link Request#bodyStream}), of any media type
 */
record Route(String method, PathTemplate template, Handler handler, long maxBodyBytes, Duration deadline, boolean streamed) {

    Route {
        Objects.requireNonNull(handler, "handler");
        if (!method.matches("GET|POST|PUT|PATCH|DELETE")) {
            throw new IllegalArgumentException("route method must be GET, POST, PUT, PATCH or DELETE, got " + method);
        }
        long most = streamed ? Limits.MAX_STREAMED_BODY_LIMIT : Limits.MAX_BODY_LIMIT;
        if (maxBodyBytes < 0 || maxBodyBytes > most) {
            throw new IllegalArgumentException("route body limit must be 0.." + most + ", got " + maxBodyBytes);
        }
        Limits.positive("route deadline", deadline);
    }
}
