package io.aether.cli;

import static io.aether.cli.VmRunCommandTest.aether;
import static io.aether.cli.VmRunCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.cli.VmRunCommandTest.Result;
import io.aether.http.ApiClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ControllerCommandTest {

    @TempDir
    Path dir;

    @Test
    void badOptionsAreOneLineNamingTheFlagAndStatusTwo() throws Exception {
        String data = dir.resolve("c").toString();
        String[][] cases = {
            {"--peers", "c1=localhost", "aether controller: --peers: 'c1=localhost' is not ID=HOST:PORT@SHA256"},
            {"--peers", "c1=127.0.0.1:9870,c2=127.0.0.1:9871", "aether controller: --peers: c2 has no certificate authority pinned"
                    + " (ID=HOST:PORT@SHA256; 'aether controller --data DIR --id c2 --authority' prints it)"},
            {"--peers", "c1=127.0.0.1:9870,c2=127.0.0.1:9871@AB", "aether controller: --peers: c2's certificate authority 'AB' is not a"
                    + " SHA-256 fingerprint (64 lower-case hex digits)"},
            {"--id", "C1!", "--authority", "aether controller: --id: 'C1!' is not a peer id ([a-z0-9][a-z0-9_-]{0,31})"},
            {"--id", "c9", "--peers", "c1=127.0.0.1:9870", "aether controller: --id: 'c9' is not one of the peers [c1]"},
            {"--listen", "127.0.0.1", "aether controller: --listen: '127.0.0.1' is not HOST:PORT"},
            {"--listen", "127.0.0.1:7443", "--allow-client", "AB", "aether controller: --allow-client: 'AB' is not a SHA-256 fingerprint"
                    + " (64 lower-case hex digits)"},
            {"--snapshot-every", "0", "aether controller: --snapshot-every: 0 is less than 1"},
            {"--discovery-group", "239.255.77.77", "aether controller: --discovery-group: '239.255.77.77' is not ADDRESS:PORT, e.g. 239.255.77.77:7947"},
            {"--discovery-group", "10.0.0.1:7947", "aether controller: --discovery-group: 10.0.0.1 is not a multicast address"},
            {"--discovery-group", "239.255.77.77:70000", "aether controller: --discovery-group: port 70000 is not 1..65535"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("controller", "--data", data));
            args.addAll(List.of(c).subList(0, c.length - 1));
            Result r = run(new byte[0], aether(args.toArray(String[]::new)));
            assertEquals(2, r.status(), args + ": " + r.err());
            assertEquals(c[c.length - 1] + System.lineSeparator(), r.err(), args.toString());
        }
    }

    /** --authority makes the CA once and prints the SHA-256 of its DER certificate, which --peers pins. */
    @Test
    void authorityPrintsTheFingerprintOfTheCertificateAuthorityItKeeps() throws Exception {
        Path data = dir.resolve("c2");
        Result first = run(new byte[0], aether("controller", "--data", data.toString(), "--id", "c2", "--authority"));
        assertEquals(0, first.status(), first.err());
        String pem = Files.readString(data.resolve("ca").resolve("ca.crt"), StandardCharsets.US_ASCII);
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        String expected = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
        assertEquals(expected + System.lineSeparator(), first.out());
        Result again = run(new byte[0], aether("controller", "--data", data.toString(), "--id", "c2", "--authority"));
        assertEquals(first.out(), again.out(), "the authority is kept, not made again");
    }

    /** The real process: it serves the API on its socket and stops cleanly on SIGTERM. */
    @Test
    void servesTheApiUntilSigterm() throws Exception {
        int raftPort;
        try (ServerSocket s = new ServerSocket(0)) {
            raftPort = s.getLocalPort();
        }
        Path socket = dir.resolve("c.sock");
        Process p = new ProcessBuilder(aether("controller", "--data", dir.resolve("state").toString(), "--raft-port", String.valueOf(raftPort),
                "--socket", socket.toString())).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("Controller c1 of 1 (Raft 127.0.0.1:" + raftPort + "), state in " + dir.resolve("state"), firstLineNotFromALogger(out));
            assertEquals("API on unix:" + socket, out.readLine());
            assertTrue(out.readLine().startsWith("Raft peers: mutual TLS 1.3, X25519MLKEM768, ML-DSA-65; this controller's certificate authority sha256:"));
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(20));
            assertEquals("{\"nodes\":[]}", api.get("/v1/nodes").requireOk().text());
            p.destroy();
            assertTrue(p.waitFor(20, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue());
        } finally {
            p.destroyForcibly();
        }
    }

    private static String firstLineNotFromALogger(BufferedReader out) throws IOException {
        for (String line = out.readLine(); ; line = out.readLine()) {
            if (line == null || line.startsWith("Controller ")) return line;
        }
    }
}
