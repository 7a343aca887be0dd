package io.aether.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * One controller's share of the fabric's replicated state: a Ratis server holding a
 * {@link FabricStateMachine}, and a Ratis client through which this controller proposes
 * commands and reads (Ratis finds the leader and retries, within a bound). One peer or several,
 * the code path is the same, and so is the Raft port's mutual post-quantum TLS ({@link RaftPeerTls}).
 */
final class ReplicatedFabric implements AutoCloseable {

    /** The one Raft group of a fabric: every controller derives the same id. */
    static final RaftGroupId GROUP_ID = RaftGroupId.valueOf(UUID.nameUUIDFromBytes("aether-fabric".getBytes(StandardCharsets.UTF_8)));
    /** Log segments are closed at this size so that a snapshot lets Ratis delete the ones before it. */
    static final SizeInBytes SEGMENT_SIZE = SizeInBytes.valueOf("1MB");
    /** How long one proposal or read may take, leader changes included, before it fails. */
    static final int CLIENT_RETRIES = 40;
    static final TimeDuration CLIENT_RETRY_SLEEP = TimeDuration.valueOf(250, TimeUnit.MILLISECONDS);

    /* Ratis logs every configuration key and election at INFO; warnings and failures still show. The reference keeps the level. */
    private static final Logger RATIS_LOG = Logger.getLogger("org.apache.ratis");

    static {
        RATIS_LOG.setLevel(Level.WARNING);
    }

    private final ControllerConfig config;
    private final RaftServer server;
    private final RaftClient client;
    private final FabricStateMachine stateMachine;
    private final RaftPeerTls tls;

    private ReplicatedFabric(ControllerConfig config, RaftServer server, RaftClient client, FabricStateMachine stateMachine, RaftPeerTls tls) {
        this.config = config;
        this.server = server;
        this.client = client;
        this.stateMachine = stateMachine;
        this.tls = tls;
    }

    /** Starts this controller's Raft server; it joins the group's election at once. */
    static ReplicatedFabric start(ControllerConfig config) throws IOException {
        RaftGroup group = RaftGroup.valueOf(GROUP_ID, config.peers().stream()
                .map(p -> RaftPeer.newBuilder().setId(p.id()).setAddress(p.address()).build()).toList());
        ControllerConfig.Peer self = config.peers().stream().filter(p -> p.id().equals(config.self())).findFirst().orElseThrow();
        Path raftDir = config.dataDir().resolve("raft");
        boolean fresh = !Files.isDirectory(raftDir.resolve(GROUP_ID.getUuid().toString()));
        Files.createDirectories(raftDir);
        RaftPeerTls tls = RaftPeerTls.of(config, Clock.systemUTC());
        Parameters parameters = tls.parameters();

        RaftProperties properties = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(properties, List.of(raftDir.toFile()));
        GrpcConfigKeys.Server.setHost(properties, self.host());
        GrpcConfigKeys.Server.setPort(properties, self.port());
        long every = config.snapshotEvery();
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(properties, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(properties, every);
        RaftServerConfigKeys.Snapshot.setCreationGap(properties, every);
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(properties, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(properties, true);
        RaftServerConfigKeys.Log.setPurgeGap(properties, (int) Math.min(every, 1024));
        RaftServerConfigKeys.Log.setSegmentSizeMax(properties, SEGMENT_SIZE);
        // A follower serves reads only once it has applied what the leader had committed when asked.
        RaftServerConfigKeys.Read.setOption(properties, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        long timeout = config.electionTimeout().toMillis();
        RaftServerConfigKeys.Rpc.setTimeoutMin(properties, TimeDuration.valueOf(timeout, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(properties, TimeDuration.valueOf(2 * timeout, TimeUnit.MILLISECONDS));
        RaftClientConfigKeys.Rpc.setRequestTimeout(properties, TimeDuration.valueOf(Math.max(3000, 3 * timeout), TimeUnit.MILLISECONDS));

        FabricStateMachine stateMachine = new FabricStateMachine();
        RaftServer server = RaftServer.newBuilder()
                .setServerId(RaftPeerId.valueOf(config.self()))
                .setGroup(group)
                .setProperties(properties)
                .setParameters(parameters)
                .setStateMachine(stateMachine)
                .setOption(fresh ? RaftStorage.StartupOption.FORMAT : RaftStorage.StartupOption.RECOVER)
                .build();
        RaftClient client = null;
        try {
            server.start();
            client = RaftClient.newBuilder()
                    .setProperties(properties)
                    .setParameters(parameters)
                    .setRaftGroup(group)
                    .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(CLIENT_RETRIES, CLIENT_RETRY_SLEEP))
                    .build();
            return new ReplicatedFabric(config, server, client, stateMachine, tls);
        } catch (IOException | RuntimeException e) {
            if (client != null) client.close();
            server.close();
            throw e;
        }
    }

    /** Proposes {@code command} to the group and waits until it is applied. */
    Outcome propose(Command command) throws IOException {
        RaftClientReply reply = client.io().send(Message.valueOf(ByteString.copyFrom(FabricCodec.encode(command))));
        if (!reply.isSuccess()) throw new IOException("the controllers did not apply " + kind(command) + ": " + reply.getException());
        return FabricCodec.decodeOutcome(reply.getMessage().getContent().toByteArray());
    }

    /** A linearizable read through the leader: it reflects every command applied before it was asked. */
    JsonNode query(JsonNode query) throws IOException {
        return answer(client.io().sendReadOnly(message(query)));
    }

    /** A linearizable read served by controller {@code peer}, a follower as well as the leader. */
    JsonNode queryOn(String peer, JsonNode query) throws IOException {
        return answer(client.io().sendReadOnly(message(query), RaftPeerId.valueOf(peer)));
    }

    /** {@code reader} over this controller's own copy of the state, without asking the group (it may lag the leader). */
    <T> T readLocal(Function<FabricState, T> reader) {
        return stateMachine.read(reader);
    }

    String id() {
        return config.self();
    }

    boolean isLeader() throws IOException {
        return division().isLeader();
    }

    /** The index of the first entry still in this peer's log: above 0 once snapshots let Ratis purge. */
    long logStartIndex() throws IOException {
        return server.getDivision(GROUP_ID).getRaftLog().getStartIndex();
    }

    long appliedIndex() {
        return stateMachine.appliedIndex();
    }

    /** The Raft port's TLS: the peer certificates it refused, and this controller's authority fingerprint. */
    RaftPeerTls peerTls() {
        return tls;
    }

    private DivisionInfo division() throws IOException {
        return server.getDivision(GROUP_ID).getInfo();
    }

    private static Message message(JsonNode query) {
        return Message.valueOf(ByteString.copyFrom(FabricCodec.bytes(query)));
    }

    private static JsonNode answer(RaftClientReply reply) throws IOException {
        if (!reply.isSuccess()) throw new IOException("the read failed: " + reply.getException());
        return FabricCodec.parse(reply.getMessage().getContent().toByteArray(), "answer");
    }

    private static String kind(Command command) {
        return command.getClass().getSimpleName();
    }

    @Override
    public void close() throws IOException {
        try {
            client.close();
        } finally {
            server.close();
        }
    }
}
