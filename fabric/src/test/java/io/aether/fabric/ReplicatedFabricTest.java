package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.retry.RetryPolicies;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Real Ratis servers on loopback: one peer with snapshots and restarts, three peers with a leader lost. */
@Timeout(30)
class ReplicatedFabricTest {

    @TempDir
    Path dir;

    private static List<String> jobNames(JsonNode answer) {
        List<String> names = new ArrayList<>();
        answer.path("jobs").forEach(j -> names.add(j.path("spec").path("name").asText()));
        return names;
    }

    private static long snapshotFiles(Path peerDir) throws IOException {
        try (Stream<Path> files = Files.walk(peerDir)) {
            return files.filter(f -> f.getFileName().toString().matches("snapshot\\.\\d+_\\d+")).count();
        }
    }

    /**
     * 30 entries of ~40 KB (more than one 1 MB log segment) with a snapshot every 10: Ratis snapshots, keeps two, purges the log
     * before them; a restart loads the newest snapshot, replays the tail of the log and holds
     * byte for byte the state it had.
     */
    @Test
    void onePeerSnapshotsPurgesItsLogAndRestartsFromSnapshotAndLog() throws IOException, InterruptedException {
        ControllerConfig config = Fabrics.group(dir, 1, 10).getFirst();
        byte[] before;
        long appliedBefore;
        try (ReplicatedFabric fabric = ReplicatedFabric.start(config)) {
            for (int i = 0; i < 30; i++) {
                Outcome outcome = fabric.propose(new Command.SubmitJob(Fabrics.bulkyJob("job-" + i, 40_000), Instant.ofEpochMilli(1_000 + i)));
                assertEquals(new Outcome.Applied(i + 1), outcome);
            }
            fabric.propose(new Command.StopJob("job-7", Instant.ofEpochMilli(2_000)));
            assertEquals(29, jobNames(fabric.query(Fabrics.query("jobs"))).size());
            assertTrue(fabric.logStartIndex() > 0, "the log still starts at " + fabric.logStartIndex());
            before = fabric.readLocal(FabricCodec::snapshot);
            appliedBefore = Fabrics.settledIndex(fabric);
        }
        long snapshots = snapshotFiles(config.dataDir());
        assertTrue(snapshots >= 1 && snapshots <= 2, snapshots + " snapshots kept");
        try (ReplicatedFabric again = ReplicatedFabric.start(config)) {
            assertArrayEquals(before, again.readLocal(FabricCodec::snapshot));
            assertEquals(appliedBefore, again.appliedIndex());
            assertTrue(again.logStartIndex() > 0);
            assertInstanceOf(Outcome.Applied.class, again.propose(new Command.SubmitJob(Fabrics.stubJob("after"), Instant.ofEpochMilli(3_000))));
            assertTrue(jobNames(again.query(Fabrics.query("jobs"))).contains("after"));
            assertFalse(jobNames(again.query(Fabrics.query("jobs"))).contains("job-7"));
        }
    }

    /** A Ratis client is a peer like any other: what it sends that is not a command never enters the log. */
    @Test
    void aMalformedCommandIsRefusedBeforeTheLog() throws IOException {
        ControllerConfig config = Fabrics.group(dir, 1, 1000).getFirst();
        try (ReplicatedFabric fabric = ReplicatedFabric.start(config)) {
            fabric.propose(new Command.SubmitJob(Fabrics.stubJob("one"), Instant.ofEpochMilli(1)));
            // Not the applied index: Ratis's own entries (configuration, metadata) move it too.
            long refusedInTheLog = fabric.query(Fabrics.query("jobs")).get("refusedEntries").asLong();
            byte[] before = fabric.readLocal(FabricCodec::snapshot);
            RaftProperties properties = new RaftProperties();
            // With this controller's own peer certificate: the Raft port admits no other.
            try (RaftClient raw = RaftClient.newBuilder().setProperties(properties).setParameters(fabric.peerTls().parameters())
                    .setRaftGroup(RaftGroup.valueOf(ReplicatedFabric.GROUP_ID, RaftPeer.newBuilder().setId("c1").setAddress(config.peers().getFirst().address()).build()))
                    .setRetryPolicy(RetryPolicies.noRetry()).build()) {
                RaftClientReply reply;
                try {
                    reply = raw.io().send(Message.valueOf("{\"type\":\"format-disk\",\"at\":1}"));
                } catch (IOException e) {
                    reply = null;
                }
                assertTrue(reply == null || !reply.isSuccess());
            }
            assertArrayEquals(before, fabric.readLocal(FabricCodec::snapshot));
            // Once a later command is applied, an entry the malformed one made would have been
            // applied (and refused) before it: none was, so it never entered the log.
            assertInstanceOf(Outcome.Applied.class, fabric.propose(new Command.SubmitJob(Fabrics.stubJob("two"), Instant.ofEpochMilli(2))));
            JsonNode after = fabric.query(Fabrics.query("jobs"));
            assertEquals(refusedInTheLog, after.get("refusedEntries").asLong());
            assertEquals(List.of("one", "two"), jobNames(after).stream().sorted().toList());
        }
    }

    @Test
    void threePeersReadOnAFollowerWhatTheLeaderWroteAndSurviveTheLeadersLoss() throws IOException, InterruptedException {
        List<ControllerConfig> configs = Fabrics.group(dir, 3, 1000);
        List<ReplicatedFabric> peers = new ArrayList<>();
        try {
            for (ControllerConfig c : configs) peers.add(ReplicatedFabric.start(c));
            assertEquals(new Outcome.Applied(1), peers.get(0).propose(new Command.SubmitJob(Fabrics.stubJob("first"), Instant.ofEpochMilli(1))));
            ReplicatedFabric leader = leaderOf(peers);
            for (ReplicatedFabric follower : peers) {
                if (follower == leader) continue;
                assertEquals(List.of("first"), jobNames(leader.queryOn(follower.id(), Fabrics.query("jobs"))), "read on " + follower.id());
            }

            leader.close();
            peers.remove(leader);
            assertEquals(new Outcome.Applied(2), peers.get(0).propose(new Command.SubmitJob(Fabrics.stubJob("second"), Instant.ofEpochMilli(2))));
            ReplicatedFabric newLeader = leaderOf(peers);
            ReplicatedFabric other = peers.get(0) == newLeader ? peers.get(1) : peers.get(0);
            assertEquals(List.of("first", "second"), jobNames(newLeader.queryOn(other.id(), Fabrics.query("jobs"))));
            assertArrayEquals(newLeader.readLocal(FabricCodec::snapshot), awaitApplied(other, newLeader.appliedIndex()).readLocal(FabricCodec::snapshot));
        } finally {
            for (ReplicatedFabric p : peers) p.close();
        }
    }

    private static ReplicatedFabric leaderOf(List<ReplicatedFabric> peers) throws IOException, InterruptedException {
        for (int tries = 0; tries < 200; tries++) {
            for (ReplicatedFabric p : peers) if (p.isLeader()) return p;
            Thread.sleep(50);
        }
        throw new AssertionError("no leader among " + peers.size() + " peers");
    }

    private static ReplicatedFabric awaitApplied(ReplicatedFabric peer, long index) throws InterruptedException {
        while (peer.appliedIndex() < index) Thread.sleep(20);
        return peer;
    }
}
