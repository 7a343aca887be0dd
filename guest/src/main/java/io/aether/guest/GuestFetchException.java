package io.aether.guest;

import java.io.IOException;

/**
 * {@code aether guest fetch} could not finish; the message names the step that failed and,
 * where a command failed, its exit status and what it wrote to stderr.
 */
public final class GuestFetchException extends IOException {

    public GuestFetchException(String message) {
        super(message);
    }

    public GuestFetchException(String message, Throwable cause) {
        super(message, cause);
    }
}
