package io.aether.sync;

/** A request the server refuses: an HTTP status and a one-line reason for the peer. */
final class Refusal extends Exception {

    final int status;

    Refusal(int status, String reason) {
        super(reason, null, false, false);
        this.status = status;
    }
}
