package io.aether.security;

/** A signature was made by a key that the trust store does not hold. */
public final class UntrustedKeyException extends RuntimeException {

    private final transient KeyId keyId;

    public UntrustedKeyException(KeyId keyId, String context) {
        super("unknown key " + keyId.hex() + (context.isEmpty() ? "" : " (" + context + ")")
                + ": not in the trust store; accept it with 'aether model trust <pubkey-file>'");
        this.keyId = keyId;
    }

    /** The key that is not trusted. */
    public KeyId keyId() {
        return keyId;
    }
}
