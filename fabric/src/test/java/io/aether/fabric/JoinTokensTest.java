package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Join tokens through a real three-controller group: a token admits one node across the group, and a refused join leaves no record. */
@Timeout(30)
class JoinTokensTest {

    @TempDir
    Path dir;

    /** A clock the test moves. */
    private static final class TestClock extends Clock {
        volatile Instant now = Instant.parse("2026-12-06T12:00:00Z");

        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void aTokenAdmitsOneNodeAcrossTheGroupUntilItExpiresAndRefusalsLeaveNoRecord() throws IOException, InterruptedException {
        TestClock clock = new TestClock();
        List<ReplicatedFabric> peers = new ArrayList<>();
        try {
            for (ControllerConfig c : Fabrics.group(dir, 3, 1000)) peers.add(ReplicatedFabric.start(c));
            JoinTokens onFirst = new JoinTokens(peers.get(0), clock, new SecureRandom());
            JoinTokens onSecond = new JoinTokens(peers.get(1), clock, new SecureRandom());
            JoinTokens onThird = new JoinTokens(peers.get(2), clock, new SecureRandom());

            JoinTokens.Issued token = onFirst.create(Duration.ofHours(1));
            assertTrue(token.secret().startsWith(JoinTokens.PREFIX));
            assertEquals(clock.now.plus(Duration.ofHours(1)), token.expires());
            assertInstanceOf(Outcome.Applied.class, onSecond.join(token.secret(), Fabrics.node("n1", 4, 4096, Map.of())));

            byte[] before = stateOf(peers.get(2));
            assertEquals(new Outcome.Refused("join token already used"), onThird.join(token.secret(), Fabrics.node("n2", 4, 4096, Map.of())));
            assertEquals(new Outcome.Refused("join token unknown"), onThird.join(JoinTokens.PREFIX + "made-up", Fabrics.node("n3", 4, 4096, Map.of())));
            assertEquals(new Outcome.Refused("not an Aether join token"), onThird.join("made-up", Fabrics.node("n3", 4, 4096, Map.of())));

            JoinTokens.Issued shortLived = onFirst.create(Duration.ofMinutes(10));
            clock.now = clock.now.plus(Duration.ofMinutes(10));
            assertEquals(new Outcome.Refused("join token expired at " + shortLived.expires()),
                    onThird.join(shortLived.secret(), Fabrics.node("n4", 4, 4096, Map.of())));

            JsonNode answer = peers.get(2).queryOn("c3", Fabrics.query("nodes"));
            assertEquals(3, answer.path("refusedEntries").asLong(), "used, unknown and expired were refused in the log; the bad secret never reached it");
            JsonNode nodes = answer.path("nodes");
            assertEquals(1, nodes.size());
            assertEquals("n1", nodes.get(0).path("name").asText());
            // The second token's creation is the only change since `before`: no refusal recorded anything.
            Outcome.Applied created = assertInstanceOf(Outcome.Applied.class,
                    peers.get(0).propose(new Command.DrainNode("n1", clock.instant())));
            assertEquals(4, created.lastEvent(), "events: token, join, token, drain");
            assertFalse(new String(before, StandardCharsets.UTF_8).contains("\"n2\""));
        } finally {
            for (ReplicatedFabric p : peers) p.close();
        }
    }

    /** Only the secret's SHA-256 is replicated: neither a snapshot nor the log holds the secret. */
    @Test
    void theSecretIsNeverWrittenOnlyItsHash() throws IOException {
        ControllerConfig config = Fabrics.group(dir, 1, 1000).getFirst();
        JoinTokens.Issued token;
        try (ReplicatedFabric fabric = ReplicatedFabric.start(config)) {
            token = new JoinTokens(fabric, Clock.systemUTC(), new SecureRandom()).create(Duration.ofHours(1));
            byte[] snapshot = fabric.readLocal(FabricCodec::snapshot);
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.secret().getBytes(StandardCharsets.UTF_8)));
            assertTrue(new String(snapshot, StandardCharsets.UTF_8).contains(hash));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        String secretPart = token.secret().substring(JoinTokens.PREFIX.length());
        try (Stream<Path> files = Files.walk(config.dataDir())) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertFalse(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains(secretPart), f + " holds the secret");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new JoinTokens(null, Clock.systemUTC(), new SecureRandom()).create(Duration.ofDays(8)));
    }

    private static byte[] stateOf(ReplicatedFabric peer) {
        return peer.readLocal(FabricCodec::snapshot);
    }

    @Test
    void theStateRefusesWithoutChangingAByte() {
        FabricState state = new FabricState();
        Instant t0 = Instant.parse("2026-12-06T12:00:00Z");
        String hash = JoinTokens.hash(JoinTokens.PREFIX + "x");
        assertInstanceOf(Outcome.Applied.class, state.apply(new Command.CreateToken(hash, t0.plusSeconds(60), t0)));
        assertInstanceOf(Outcome.Applied.class, state.apply(new Command.JoinNode(hash, Fabrics.node("a", 1, 64, Map.of()), t0.plusSeconds(1))));
        byte[] before = FabricCodec.snapshot(state);
        List<Command> refused = List.of(
                new Command.JoinNode(hash, Fabrics.node("b", 1, 64, Map.of()), t0.plusSeconds(2)),
                new Command.CreateToken(hash, t0.plusSeconds(90), t0.plusSeconds(2)),
                new Command.CreateToken(JoinTokens.hash("other"), t0, t0),
                new Command.StopJob("nothing", t0),
                new Command.DrainNode("nobody", t0));
        for (Command c : refused) {
            assertInstanceOf(Outcome.Refused.class, state.apply(c), c.toString());
            assertArrayEquals(before, FabricCodec.snapshot(state), c + " changed the state");
        }
    }
}
