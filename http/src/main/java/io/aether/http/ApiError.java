package io.aether.http;

import java.time.Duration;
import java.util.Objects;
import java.util.Set;

/**
 * Every failure a server answers, each with its status code ({@link #status}) and a one-line
 * message for the peer. The message is the whole truth the peer gets: never a stack trace, a
 * class name or a host path ({@link Internal} carries only an incident number that the server
 * log shows beside the real cause).
 *
 * <p>Handlers throw one with {@link #exception()}; the server maps it with an exhaustive switch.
 */
public sealed interface ApiError {

    String message();

    /** 400: the request names something invalid; {@code field} is the JSON field or path parameter. */
    record BadRequest(String field, String problem) implements ApiError {
        public BadRequest {
            Objects.requireNonNull(field, "field");
            Objects.requireNonNull(problem, "problem");
        }

        /** {@code field: problem}, as every Aether validation message reads. */
        @Override
        public String message() {
            return field + ": " + problem;
        }
    }

    /** 401: the peer did not say who it is. */
    record Unauthorized(String message) implements ApiError { }

    /** 403: the peer is known and not allowed this. */
    record Forbidden(String message) implements ApiError { }

    /** 404: no such resource, or no route for the path. */
    record NotFound(String message) implements ApiError { }

    /** 405: the path exists with other methods, listed in the {@code Allow} header. */
    record MethodNotAllowed(String message, Set<String> allowed) implements ApiError {
        public MethodNotAllowed {
            allowed = Set.copyOf(allowed);
        }
    }

    /** 408: the peer sent its request body slower than the server's minimum data rate. */
    record RequestTimeout(String message) implements ApiError { }

    /** 409: the request conflicts with the resource's state. */
    record Conflict(String message) implements ApiError { }

    /** 413: the body is over the route's limit. */
    record PayloadTooLarge(String message) implements ApiError { }

    /** 415: a body that is not {@code application/json}. */
    record UnsupportedMediaType(String message) implements ApiError { }

    /** 429: this peer has too much in flight; it may try again after {@code retryAfter}. */
    record TooManyRequests(String message, Duration retryAfter) implements ApiError {
        public TooManyRequests {
            Limits.positive("retry after", retryAfter);
        }
    }

    /** 503: the server cannot serve this now (busy, stopping, deadline passed); try after {@code retryAfter}. */
    record Unavailable(String message, Duration retryAfter) implements ApiError {
        public Unavailable {
            Limits.positive("retry after", retryAfter);
        }
    }

    /** 500: a fault of the server; the log holds the cause under {@code incident}. */
    record Internal(long incident) implements ApiError {
        @Override
        public String message() {
            return "internal error (incident " + incident + " in the server log)";
        }
    }

    /** The HTTP status of an error. */
    static int status(ApiError error) {
        return switch (error) {
            case BadRequest e -> 400;
            case Unauthorized e -> 401;
            case Forbidden e -> 403;
            case NotFound e -> 404;
            case MethodNotAllowed e -> 405;
            case RequestTimeout e -> 408;
            case Conflict e -> 409;
            case PayloadTooLarge e -> 413;
            case UnsupportedMediaType e -> 415;
            case TooManyRequests e -> 429;
            case Unavailable e -> 503;
            case Internal e -> 500;
        };
    }

    /** The stable word a client switches on (the {@code error} field of the JSON body). */
    static String code(ApiError error) {
        return switch (error) {
            case BadRequest e -> "bad_request";
            case Unauthorized e -> "unauthorized";
            case Forbidden e -> "forbidden";
            case NotFound e -> "not_found";
            case MethodNotAllowed e -> "method_not_allowed";
            case RequestTimeout e -> "request_timeout";
            case Conflict e -> "conflict";
            case PayloadTooLarge e -> "payload_too_large";
            case UnsupportedMediaType e -> "unsupported_media_type";
            case TooManyRequests e -> "too_many_requests";
            case Unavailable e -> "unavailable";
            case Internal e -> "internal";
        };
    }

    /** This error as an exception for a handler to throw. */
    default ApiException exception() {
        return new ApiException(this);
    }
}
