package io.aether.testhost;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Which QEMU emulates the nested host, from {@value #VARIABLE}.
 *
 * <p>By default ({@link #AUTO}) Debian trixie's QEMU 10 ({@link TrixieQemu}), fetched once,
 * unless the system's own QEMU is already 10 or newer. When that fetch fails the system's QEMU
 * runs instead, with a warning: it is the host the project ran on before, whose stalls are
 * caught and retried ({@link StallClassifier}), and a machine without trixie's mirror (an
 * Ubuntu host, a bookworm-only proxy) keeps a working test host. {@code run-tests} sets
 * {@link #TRIXIE}, so that the suite and CI never run on the fallback unnoticed.
 */
enum QemuChoice {
    /** Trixie's QEMU 10 unless the system's is new enough; the system's when the fetch fails. */
    AUTO,
    /** Trixie's QEMU 10; a failed fetch makes the nested host unavailable. */
    TRIXIE,
    /** The system's {@code qemu-system-x86_64}, whatever its version. */
    SYSTEM;

    static final String VARIABLE = "AETHER_TESTHOST_QEMU";

    /** How {@link TrixieQemu#ensure()} is reached (a test gives its own). */
    @FunctionalInterface
    interface Fetch {
        QemuCommand get() throws IOException;
    }

    /**
     * The choice that {@code value} names ({@code auto}, {@code trixie} or {@code system}; unset
     * or blank is auto).
     *
     * @throws IOException naming the variable and its bad value
     */
    static QemuChoice parse(Optional<String> value) throws IOException {
        String v = value.map(String::strip).orElse("");
        if (v.isEmpty()) {
            return AUTO;
        }
        try {
            return valueOf(v.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IOException(VARIABLE + "='" + v + "' is none of auto, trixie, system");
        }
    }

    /**
     * The QEMU to run L1 on.
     *
     * @param system   the system's {@code qemu-system-x86_64}
     * @param trixie   fetches (or finds cached) trixie's QEMU
     * @param progress receives what was chosen, and the warning of a fallback
     * @throws IOException when the chosen QEMU cannot be had
     */
    QemuCommand resolve(Path system, Fetch trixie, Consumer<String> progress) throws IOException {
        return switch (this) {
            case SYSTEM -> QemuCommand.system(system);
            case TRIXIE -> {
                try {
                    yield trixie.get();
                } catch (IOException e) {
                    throw new IOException("cannot fetch Debian trixie's QEMU 10 (" + VARIABLE + "=trixie): "
                            + e.getMessage(), e);
                }
            }
            case AUTO -> {
                QemuCommand installed = QemuCommand.system(system);
                if (QemuCommand.major(installed.version()).orElse(0) >= 10) {
                    yield installed;
                }
                try {
                    yield trixie.get();
                } catch (IOException e) {
                    progress.accept("WARNING: cannot fetch Debian trixie's QEMU 10: " + e.getMessage());
                    progress.accept("WARNING: the nested host runs on " + installed.describe() + " instead; QEMU 7.2"
                            + " stalled or panicked L1 in 3 of 62 boots (retried) and gives L2 guests a broken XSAVE"
                            + " state. Set " + VARIABLE + "=trixie to make this an error, or " + VARIABLE
                            + "=system to silence it.");
                    yield installed;
                }
            }
        };
    }
}
