package io.aether.devices.rng;

import java.security.SecureRandom;

/** Where the entropy device's bytes come from: the JDK's {@link SecureRandom} in production. */
@FunctionalInterface
public interface EntropySource {

    /** Fills {@code buffer} with random bytes. */
    void fill(byte[] buffer);

    /** A source over a new {@link SecureRandom} (the platform's default strong-enough generator). */
    static EntropySource secureRandom() {
        SecureRandom random = new SecureRandom();
        return random::nextBytes;
    }
}
