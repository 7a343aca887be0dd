package io.aether.discovery;

/** A datagram that is not a beacon this build reads; the message names the first bad field. */
public final class MalformedBeaconException extends Exception {
    public MalformedBeaconException(String message) {
        super(message);
    }
}
