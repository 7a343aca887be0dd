package io.aether.devices.rng;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Where the entropy device's bytes come from: the kernel's generator in production. */
@FunctionalInterface
public interface EntropySource {

    /** The kernel's generator, as the JDK's default SecureRandom on Linux reads it. */
    String URANDOM = "/dev/urandom";

    /** Fills {@code buffer} with random bytes. */
    void fill(byte[] buffer);

    /**
     * A source that reads {@value #URANDOM} at each fill: the bytes the JDK's default SecureRandom
     * gives on Linux, without starting the JDK's security providers, which a monitor's start paid
     * for (tens of milliseconds interpreted, 20-30 times that on an emulated arm64 host:
     * docs/BENCHMARKS.md (f)). Opened per fill: a guest asks for entropy a few times per boot.
     */
    static EntropySource urandom() {
        return buffer -> {
            try (FileInputStream in = new FileInputStream(URANDOM)) {
                if (in.readNBytes(buffer, 0, buffer.length) != buffer.length) throw new IOException("it ended early");
            } catch (IOException e) {
                throw new UncheckedIOException("reading " + URANDOM + ": " + e.getMessage(), e);
            }
        };
    }
}
