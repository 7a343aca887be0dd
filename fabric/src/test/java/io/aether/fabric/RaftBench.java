package io.aether.fabric;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * Issue 9's replicated write benchmark (run by {@code bench/fabric-raft.sh}, not a test): the
 * latency of one write committed by three controllers on loopback (three {@link ReplicatedFabric}
 * peers in this JVM, the code path of {@code aether controller --peers}), beside a three-member
 * etcd cluster on loopback (started by the script) written through its HTTP gateway
 * ({@code /v3/kv/put}) by this JVM's HTTP client. Both get the same number of sequential writes
 * (one client, one write in flight) of the same size: a write to the fabric is a job submit whose
 * encoded command is {@code --bytes} long (give or take the name's few digits), a write to etcd a value of that many bytes. The two
 * alternate in rounds so that the machine's load falls on both alike.
 *
 * <p>Usage: {@code RaftBench --writes N --rounds N --bytes N --dir DIR --etcd URL}
 */
final class RaftBench {

    private static final Instant T = Instant.parse("2026-12-06T12:00:00Z");

    private RaftBench() {
    }

    public static void main(String[] args) throws Exception {
        int writes = 1000;
        int rounds = 5;
        int bytes = 1024;
        Path dir = null;
        URI etcd = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--writes" -> writes = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--bytes" -> bytes = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--etcd" -> etcd = URI.create(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (dir == null || etcd == null) {
            System.err.println("usage: RaftBench --writes N --rounds N --bytes N --dir DIR --etcd URL");
            System.exit(2);
        }
        List<ControllerConfig> configs = Fabrics.group(dir, 3, ControllerConfig.DEFAULT_SNAPSHOT_EVERY).stream()
                .map(c -> c.withElectionTimeout(ControllerConfig.DEFAULT_ELECTION_TIMEOUT)).toList();
        List<ReplicatedFabric> peers = new ArrayList<>();
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
        try {
            for (ControllerConfig config : configs) peers.add(ReplicatedFabric.start(config));
            ReplicatedFabric client = peers.getFirst();
            int padding = paddingFor(bytes);
            byte[] value = new byte[bytes];
            Arrays.fill(value, (byte) 'x');
            // Unmeasured: the election, the first connections, the JIT.
            for (int i = 0; i < 200; i++) {
                fabricWrite(client, "warm" + i, padding);
                etcdWrite(http, etcd, "warm" + i, value);
            }
            long[] fabric = new long[writes * rounds];
            long[] etcdTimes = new long[writes * rounds];
            int perRound = writes;
            for (int r = 0; r < rounds; r++) {
                for (int i = 0; i < perRound; i++) {
                    long start = System.nanoTime();
                    fabricWrite(client, "w" + r + "-" + i, padding);
                    fabric[r * perRound + i] = System.nanoTime() - start;
                }
                for (int i = 0; i < perRound; i++) {
                    long start = System.nanoTime();
                    etcdWrite(http, etcd, "w" + r + "-" + i, value);
                    etcdTimes[r * perRound + i] = System.nanoTime() - start;
                }
                System.err.printf(Locale.ROOT, "round %d: fabric p50 %.2f ms, etcd p50 %.2f ms%n", r + 1,
                        percentile(Arrays.copyOfRange(fabric, r * perRound, (r + 1) * perRound), 50),
                        percentile(Arrays.copyOfRange(etcdTimes, r * perRound, (r + 1) * perRound), 50));
            }
            double f50 = percentile(fabric, 50);
            double f99 = percentile(fabric, 99);
            double e50 = percentile(etcdTimes, 50);
            double e99 = percentile(etcdTimes, 99);
            System.out.printf(Locale.ROOT, "%n| %,d sequential writes of %d bytes, 3 peers on loopback | p50 | p99 |%n|---|---:|---:|%n", writes * rounds, bytes);
            System.out.printf(Locale.ROOT, "| Aether controllers (Ratis, gRPC) | %.2f ms | %.2f ms |%n", f50, f99);
            System.out.printf(Locale.ROOT, "| etcd 3 members (HTTP gateway) | %.2f ms | %.2f ms |%n", e50, e99);
            System.out.printf(Locale.ROOT, "| Aether / etcd | %.2f× | %.2f× |%n", f50 / e50, f99 / e99);
        } finally {
            for (ReplicatedFabric peer : peers) peer.close();
        }
        System.exit(0);
    }

    /** The command line length that makes a submit's encoded command {@code bytes} long. */
    private static int paddingFor(int bytes) {
        int base = FabricCodec.encode(submit("w0-0", 1)).length - 1;
        if (base >= bytes) throw new IllegalArgumentException("--bytes: a job submit takes more than " + base + " bytes");
        int padding = bytes - base;
        int encoded = FabricCodec.encode(submit("w0-0", padding)).length;
        if (encoded != bytes) throw new IllegalStateException("a padded submit is " + encoded + " bytes, not " + bytes);
        return padding;
    }

    private static Command.SubmitJob submit(String name, int padding) {
        return new Command.SubmitJob(Fabrics.bulkyJob(name, padding), T);
    }

    private static void fabricWrite(ReplicatedFabric fabric, String name, int padding) throws Exception {
        if (fabric.propose(submit(name, padding)) instanceof Outcome.Refused(String reason)) throw new IllegalStateException("refused: " + reason);
    }

    private static void etcdWrite(HttpClient http, URI etcd, String key, byte[] value) throws Exception {
        Base64.Encoder b64 = Base64.getEncoder();
        String body = JsonNodeFactory.instance.objectNode().put("key", b64.encodeToString(key.getBytes(StandardCharsets.UTF_8)))
                .put("value", b64.encodeToString(value)).toString();
        HttpResponse<String> answer = http.send(HttpRequest.newBuilder(etcd.resolve("/v3/kv/put")).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() != 200 || !answer.body().contains("revision")) throw new IllegalStateException("etcd put: " + answer.statusCode() + " " + answer.body());
    }

    /** The {@code p}th percentile in milliseconds, nearest rank. */
    private static double percentile(long[] nanos, int p) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }
}
