package io.aether.fabric;

import io.aether.security.Tls;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
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
    private static final Pattern FINGERPRINT = Pattern.compile("[0-9a-f]{64}");

    /**
     * One controller of the group.
     *
     * @param id its Raft peer id
     * @param host where the others reach its Raft port
     * @param port its Raft (gRPC) port
     * @param authority the SHA-256 fingerprint (64 lower-case hex digits) of its certificate
     *     authority ({@code DIR/ca/ca.crt}): the Raft port accepts only the controller certificate it issued
     */
    public record Peer(String id, String host, int port, Optional<String> authority) {
        public Peer {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(authority, "authority");
            if (!ID.matcher(id).matches()) throw new IllegalArgumentException("peers: '" + id + "' is not a peer id (" + ID.pattern() + ")");
            if (host.isEmpty() || !host.matches("[A-Za-z0-9.:\\[\\]-]{1,253}")) throw new IllegalArgumentException("peers: '" + id + "' has no valid host");
            if (port < 1 || port > 65535) throw new IllegalArgumentException("peers: " + id + "'s port " + port + " is out of range (1 to 65535)");
            if (authority.isPresent() && !FINGERPRINT.matcher(authority.get()).matches()) {
                throw new IllegalArgumentException("peers: " + id + "'s certificate authority '" + authority.get() + "' is not a SHA-256 fingerprint (64 lower-case hex digits)");
            }
        }

        /** A peer whose certificate authority is not pinned: only this controller itself, whose authority is at hand. */
        public Peer(String id, String host, int port) {
            this(id, host, port, Optional.empty());
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
        for (Peer p : peers) {
            if (!p.id().equals(self) && p.authority().isEmpty()) {
                throw new IllegalArgumentException("peers: " + p.id() + " has no certificate authority pinned (ID=HOST:PORT@SHA256; "
                        + "'aether controller --data DIR --id " + p.id() + " --authority' prints it)");
            }
        }
        if (snapshotEvery < 1) throw new IllegalArgumentException("snapshotEvery: " + snapshotEvery + " is less than 1");
        if (electionTimeout.toMillis() < 100) throw new IllegalArgumentException("electionTimeout: " + electionTimeout.toMillis() + " ms is less than 100 ms");
    }

    /** The default: this machine's one controller, its Raft port on loopback. */
    public static ControllerConfig single(Path dataDir, int raftPort) {
        return new ControllerConfig(dataDir, "c1", List.of(new Peer("c1", "127.0.0.1", raftPort)), DEFAULT_SNAPSHOT_EVERY, DEFAULT_ELECTION_TIMEOUT);
    }

    /**
     * {@code --peers c1=10.0.0.1:9870@SHA256,c2=10.0.0.2:9870@SHA256,c3=10.0.0.3:9870@SHA256}, each
     * {@code SHA256} the fingerprint of that controller's certificate authority (this controller's
     * own may be left out).
     *
     * @throws IllegalArgumentException naming the bad entry
     */
    public static List<Peer> parsePeers(String text) {
        List<Peer> peers = new ArrayList<>();
        for (String given : text.split(",", -1)) {
            int at = given.indexOf('@');
            String entry = at < 0 ? given : given.substring(0, at);
            Optional<String> authority = at < 0 ? Optional.empty() : Optional.of(given.substring(at + 1));
            int equals = entry.indexOf('=');
            int colon = entry.lastIndexOf(':');
            if (equals < 1 || colon < equals + 2) throw new IllegalArgumentException("peers: '" + given + "' is not ID=HOST:PORT@SHA256");
            int port;
            try {
                port = Integer.parseInt(entry.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("peers: '" + given + "' has no port number");
            }
            peers.add(new Peer(entry.substring(0, equals), entry.substring(equals + 1, colon), port, authority));
        }
        return peers;
    }

    /**
     * The SHA-256 fingerprint of the certificate authority of the controller whose state is in
     * {@code dataDir} ({@code dataDir/ca}, made first if absent): what the other controllers pin
     * for {@code id} in {@code --peers}.
     */
    public static String authorityFingerprint(Path dataDir, String id) throws IOException {
        return Tls.fingerprint(RaftPeerTls.authority(dataDir, id).certificate());
    }

    public ControllerConfig withSnapshotEvery(long value) {
        return new ControllerConfig(dataDir, self, peers, value, electionTimeout);
    }

    public ControllerConfig withElectionTimeout(Duration value) {
        return new ControllerConfig(dataDir, self, peers, snapshotEvery, value);
    }
}
