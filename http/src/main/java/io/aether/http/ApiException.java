package io.aether.http;

/** Thrown by a handler to answer with {@link #error()}; no stack trace is recorded (it is an answer, not a fault). */
public final class ApiException extends RuntimeException {

    private final transient ApiError error;

    ApiException(ApiError error) {
        super(error.message(), null, false, false);
        this.error = error;
    }

    public ApiError error() {
        return error;
    }
}
