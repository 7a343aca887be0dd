package io.aether.it;

import io.aether.monitorapi.ControlResponse;
import io.aether.monitorapi.MonitorClient;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Asks a monitor for a graceful stop, from inside the nested test host (whose busybox cannot speak
 * to a Unix socket): {@code GracefulStop SOCKET TIMEOUT_MILLIS} prints the VM's final state and
 * why it stopped, as {@code graceful stop: STATE (REASON) after N ms}.
 */
final class GracefulStop {

    private GracefulStop() {
    }

    public static void main(String[] args) throws IOException {
        Duration timeout = Duration.ofMillis(Long.parseLong(args[1]));
        long start = System.nanoTime();
        ControlResponse.Status last = new MonitorClient(Path.of(args[0]), Duration.ofSeconds(60)).stop(true, timeout);
        System.out.println("graceful stop: " + last.state().name().toLowerCase(java.util.Locale.ROOT) + " ("
                + last.reason().orElse("no reason") + ") after " + (System.nanoTime() - start) / 1_000_000 + " ms");
    }
}
