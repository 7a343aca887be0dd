package io.aether.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The README's main command, {@code aether demo}, as the launcher runs it: {@code java -jar}
 * on the packaged jar, so that its manifest class path is what the product runs on.
 */
// Above the demo's own 15 minutes, so that a demo that never ends is reported with its transcript.
@Timeout(value = 20, unit = TimeUnit.MINUTES)
class DemoTest {

    @Test
    void theDemoBootsTheGuestAndRunsItsCommands() throws Exception {
        GuestHost.get(); // the same prerequisites as the other guest tests: skip or fail (CI) with the reason
        Path jar = Path.of("..", "cli", "target", "aether.jar").toAbsolutePath().normalize();
        assertTrue(Files.isRegularFile(jar), "the cli module's package phase makes " + jar);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(List.of(java, "-jar", jar.toString(), "demo", "--vcpus", "2")).redirectErrorStream(true).start();
        p.getOutputStream().close();
        var out = new ByteArrayOutputStream();
        // The demo's console goes to the test's log too, as it comes.
        Thread reader = Thread.ofVirtual().start(() -> {
            byte[] buffer = new byte[8192];
            try (var in = p.getInputStream()) {
                int n;
                while ((n = in.read(buffer)) > 0) {
                    out.write(buffer, 0, n);
                    System.out.write(buffer, 0, n);
                    System.out.flush();
                }
            } catch (IOException e) {
                // the process ended
            }
        });
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), "the demo did not finish");
        reader.join();
        String transcript = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), transcript);
        assertTrue(transcript.contains("AETHER-GUEST-READY"), transcript);
        assertTrue(transcript.contains("virtio0"), "the guest lists its virtio devices: " + transcript);
        assertTrue(transcript.contains("virtio_rng.0"), "the entropy device serves the guest's hwrng: " + transcript);
        assertTrue(transcript.contains("aether demo: the microVM booted, answered " + 7 + " commands"), transcript);
    }
}
