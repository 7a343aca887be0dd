package io.aether.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KnownServersTest {

    @TempDir
    Path tmp;

    private static String fingerprint(int i) {
        byte[] b = new byte[32];
        b[0] = (byte) i;
        b[31] = (byte) (i >> 8);
        return HexFormat.of().formatHex(b);
    }

    @Test
    void theFirstPinWinsAndLaterOnesAreReturnedTheExistingPin() throws IOException {
        KnownServers known = new KnownServers(tmp.resolve("home/known_servers"));
        assertEquals(fingerprint(1), known.pinIfAbsent("a:1", fingerprint(1)));
        assertEquals(fingerprint(1), known.pinIfAbsent("a:1", fingerprint(2)), "an existing pin is never replaced");
        assertEquals(fingerprint(1), new KnownServers(known.file()).lookup("a:1").orElseThrow());
    }

    @Test
    void threadsWithTheirOwnInstancesLoseNoPin() throws Exception {
        Path file = tmp.resolve("known_servers");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<String>> done = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int n = i;
            done.add(pool.submit(() -> new KnownServers(file).pinIfAbsent("host" + n + ":443", fingerprint(n))));
        }
        for (Future<String> f : done) {
            f.get(30, TimeUnit.SECONDS);
        }
        pool.shutdown();
        KnownServers known = new KnownServers(file);
        for (int i = 0; i < 64; i++) {
            assertEquals(fingerprint(i), known.lookup("host" + i + ":443").orElseThrow(), "pin of host" + i);
        }
    }

    @Test
    void processesPinningAtOnceLoseNoPin() throws Exception {
        Path file = tmp.resolve("known_servers");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> procs = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            procs.add(new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    Pinner.class.getName(), file.toString(), Integer.toString(p * 100), "25")
                    .redirectErrorStream(true).start());
        }
        for (Process p : procs) {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "pinning process finished");
            assertEquals(0, p.exitValue(), new String(p.getInputStream().readAllBytes()));
        }
        KnownServers known = new KnownServers(file);
        for (int p = 0; p < 3; p++) {
            for (int i = 0; i < 25; i++) {
                int n = p * 100 + i;
                assertEquals(fingerprint(n), known.lookup("host" + n + ":443").orElseThrow(), "pin of host" + n);
            }
        }
    }

    @Test
    void aMalformedLineIsRefusedNamingTheFileAndLine() throws IOException {
        Path file = tmp.resolve("known_servers");
        Files.writeString(file, "# pins\nhost:1 nothex\n");
        IOException e = assertThrows(IOException.class, () -> new KnownServers(file).lookup("host:1"));
        assertTrue(e.getMessage().contains(file + ":2"), e.getMessage());
    }

    /** A separate process that pins {@code count} servers starting at {@code first}. */
    public static final class Pinner {
        public static void main(String[] args) throws IOException {
            KnownServers known = new KnownServers(Path.of(args[0]));
            int first = Integer.parseInt(args[1]);
            for (int i = 0; i < Integer.parseInt(args[2]); i++) {
                known.pinIfAbsent("host" + (first + i) + ":443", fingerprint(first + i));
            }
        }
    }
}
