package io.aether.fabric;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How one controller of the fabric runs: where its state lives, which peer it is, and the group.
 * One peer by default; three or five with {@code --peers}; the same code path for every size.
 *
 * @param dataDir where this peer keeps its Raft log and snapshots
 * @param self this peer's id, one of {@code peers}
 * @param peers every controller of the group, in the same order on each
 * @param snapshotEvery a snapshot is taken after this many log entries, and the log before it purged
 * @param electionTimeout the least time a follower waits for the leader before standing; up to twice that
 */
public record ControllerConfig(Path dataDir, String self, List<Peer> peers, long snapshotEvery, Duration electionTimeout) {

    public static final long DEFAULT_SNAPSHOT_EVERY = 10_000;
    public static final Duration DEFAULT_ELECTION_TIMEOUT = Duration.ofMillis(1000);
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9_-]{0,31}");

    /**
     * One controller of the group.
     *
     * @param id its Raft peer id
     * @param host where the others reach its Raft port
     * @param port its Raft (gRPC) port
     */
    public record Peer(String id, String host, int port) {
        public Peer {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(host, "host");
            if (!ID.matcher(id).matches()) throw new IllegalArgumentException("peers: '" + id + "' is not a peer id (" + ID.pattern() + ")");
            if (host.isEmpty() || !host.matches("[A-Za-z0-9.:\\[\\]-]{1,253}")) throw new IllegalArgumentException("peers: '" + id + "' has no valid host");
            if (port < 1 || port > 65535) throw new IllegalArgumentException("peers: " + id + "'s port " + port + " is out of range (1 to 65535)");
        }

        /** {@code host:port}, an IPv6 host in brackets. */
        public String address() {
            return host.contains(":") && !host.startsWith("[") ? "[" + host + "]:" + port : host + ":" + port;
        }
    }

    public ControllerConfig {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(self, "self");
        peers = List.copyOf(peers);
        Objects.requireNonNull(electionTimeout, "electionTimeout");
        if (peers.isEmpty()) throw new IllegalArgumentException("peers: none given");
        if (peers.size() > 7) throw new IllegalArgumentException("peers: " + peers.size() + " are more than a Raft group should have (7)");
        List<String> ids = new ArrayList<>();
        for (Peer p : peers) {
            if (ids.contains(p.id())) throw new IllegalArgumentException("peers: " + p.id() + " is named twice");
            ids.add(p.id());
        }
        if (!ids.contains(self)) throw new IllegalArgumentException("id: '" + self + "' is not one of the peers " + ids);
        if (snapshotEvery < 1) throw new IllegalArgumentException("snapshotEvery: " + snapshotEvery + " is less than 1");
        if (electionTimeout.toMillis() < 100) throw new IllegalArgumentException("electionTimeout: " + electionTimeout.toMillis() + " ms is less than 100 ms");
    }

    /** The default: this machine's one controller, its Raft port on loopback. */
    public static ControllerConfig single(Path dataDir, int raftPort) {
        return new ControllerConfig(dataDir, "c1", List.of(new Peer("c1", "127.0.0.1", raftPort)), DEFAULT_SNAPSHOT_EVERY, DEFAULT_ELECTION_TIMEOUT);
    }

    /**
     * {@code --peers c1=10.0.0.1:9870,c2=10.0.0.2:9870,c3=10.0.0.3:9870}.
     *
     * @throws IllegalArgumentException naming the bad entry
     */
    public static List<Peer> parsePeers(String text) {
        List<Peer> peers = new ArrayList<>();
        for (String entry : text.split(",", -1)) {
            int equals = entry.indexOf('=');
            int colon = entry.lastIndexOf(':');
            if (equals < 1 || colon < equals + 2) throw new IllegalArgumentException("peers: '" + entry + "' is not ID=HOST:PORT");
            int port;
            try {
                port = Integer.parseInt(entry.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("peers: '" + entry + "' has no port number");
            }
            peers.add(new Peer(entry.substring(0, equals), entry.substring(equals + 1, colon), port));
        }
        return peers;
    }

    public ControllerConfig withSnapshotEvery(long value) {
        return new ControllerConfig(dataDir, self, peers, value, electionTimeout);
    }

    public ControllerConfig withElectionTimeout(Duration value) {
        return new ControllerConfig(dataDir, self, peers, snapshotEvery, value);
    }
}
