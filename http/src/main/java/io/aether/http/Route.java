package io.aether.http;

import java.time.Duration;
import java.util.Objects;

/**
 * One method and path template with its handler and limits.
 *
 * @param maxBodyBytes the largest body accepted (0: none)
 * @param deadline     head to response, body included
 */
record Route(String method, PathTemplate template, Handler handler, long maxBodyBytes, Duration deadline) {

    Route {
        Objects.requireNonNull(handler, "handler");
        if (!method.matches("GET|POST|PUT|PATCH|DELETE")) {
            throw new IllegalArgumentException("route method must be GET, POST, PUT, PATCH or DELETE, got " + method);
        }
        if (maxBodyBytes < 0 || maxBodyBytes > Limits.MAX_BODY_LIMIT) {
            throw new IllegalArgumentException("route body limit must be 0.." + Limits.MAX_BODY_LIMIT + ", got " + maxBodyBytes);
        }
        Limits.positive("route deadline", deadline);
    }
}
