package io.aether.fabric;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.JobSpec;
import io.aether.fabricapi.JobSpecJson;
import io.aether.fabricapi.Resources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.logging.Logger;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.MD5FileUtil;

/**
 * {@link FabricState} as a Ratis state machine: log entries are {@link FabricCodec}-encoded
 * {@link Command}s, answers are {@link Outcome}s, snapshots are the whole state in one file
 * (Ratis takes one every N entries and then purges the log up to it; a restart loads the newest
 * snapshot and replays the log after it).
 *
 * <p>A malformed command is refused by the leader before it enters the log
 * ({@link #startTransaction}); one that reached the log anyway is refused the same way on every
 * peer when it is applied, so the peers never diverge.
 */
final class FabricStateMachine extends BaseStateMachine {

    private static final Logger LOG = Logger.getLogger(FabricStateMachine.class.getName());
    /** Events a query answers with at most. */
    static final int MAX_EVENTS_PER_QUERY = 1000;

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private FabricState state = new FabricState();
    private long refusedEntries;

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        storage.init(raftStorage);
        load(storage.loadLatestSnapshot());
    }

    @Override
    public void reinitialize() throws IOException {
        load(storage.loadLatestSnapshot());
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) return;
        Path file = snapshot.getFile().getPath();
        MD5Hash md5 = snapshot.getFile().getFileDigest();
        if (md5 != null) MD5FileUtil.verifySavedMD5(file.toFile(), md5);
        FabricState loaded;
        try {
            loaded = FabricCodec.restore(Files.readAllBytes(file));
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new IOException(file + ": not a controller snapshot: " + e.getMessage(), e);
        }
        lock.writeLock().lock();
        try {
            state = loaded;
            setLastAppliedTermIndex(snapshot.getTermIndex());
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public long takeSnapshot() throws IOException {
        byte[] bytes;
        TermIndex last;
        lock.readLock().lock();
        try {
            bytes = FabricCodec.snapshot(state);
            last = getLastAppliedTermIndex();
        } finally {
            lock.readLock().unlock();
        }
        if (last == null) return RaftLog.INVALID_LOG_INDEX;
        Path file = storage.getSnapshotFile(last.getTerm(), last.getIndex()).toPath();
        Path partial = file.resolveSibling(file.getFileName() + ".partial");
        Files.write(partial, bytes);
        Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file.toFile());
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file, md5), last));
        return last.getIndex();
    }

    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        try {
            FabricCodec.decodeCommand(request.getMessage().getContent().toByteArray());
        } catch (RuntimeException e) {
            throw new IOException("refused before the log: " + e.getMessage());
        }
        return super.startTransaction(request);
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        Outcome outcome;
        Command command = null;
        try {
            command = FabricCodec.decodeCommand(entry.getStateMachineLogEntry().getLogData().toByteArray());
        } catch (RuntimeException e) {
            outcome = new Outcome.Refused("malformed command: " + e.getMessage());
        }
        lock.writeLock().lock();
        try {
            outcome = command == null ? new Outcome.Refused("malformed command") : state.apply(command);
            if (outcome instanceof Outcome.Refused) refusedEntries++;
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
        } finally {
            lock.writeLock().unlock();
        }
        if (outcome instanceof Outcome.Refused(String reason)) LOG.fine(() -> "refused log entry " + entry.getIndex() + ": " + reason);
        return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(FabricCodec.encode(outcome))));
    }

    /**
     * Reads: {@code {"query": "nodes" | "jobs" | "allocations" | "pending" | "volumes"}}, {@code {"query":
     * "events", "after": N}} (at most {@link #MAX_EVENTS_PER_QUERY}), {@code {"query": "desired",
     * "node": NAME}}. The answer is a JSON object; its {@code applied} is the last log index the state reflects, and
     * {@code refusedEntries} counts the log entries refused since this peer started (malformed, or
     * refused by the state).
     */
    @Override
    public CompletableFuture<Message> query(Message request) {
        try {
            JsonNode q = FabricCodec.parse(request.getContent().toByteArray(), "query");
            ObjectNode answer = read(s -> answer(q, s).put("applied", appliedIndex()).put("refusedEntries", refusedEntries()));
            return CompletableFuture.completedFuture(Message.valueOf(ByteString.copyFrom(FabricCodec.bytes(answer))));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("query refused: " + e.getMessage()));
        }
    }

    static ObjectNode answer(JsonNode q, FabricState s) {
        ObjectNode out = JsonNodeFactory.instance.objectNode();
        String what = q.path("query").asText("");
        switch (what) {
            case "nodes" -> {
                ArrayNode nodes = out.putArray("nodes");
                Map<String, Resources> used = new HashMap<>();
                Map<String, Integer> replicas = new HashMap<>();
                s.allocations.values().forEach(a -> {
                    used.merge(a.node(), a.resources(), Resources::plus);
                    replicas.merge(a.node(), 1, Integer::sum);
                });
                s.nodes.values().forEach(n -> {
                    ObjectNode node = FabricCodec.node(n);
                    String key = s.keys.get(n.name());
                    if (key != null) node.put("keyId", NodeRegistration.keyId(key));
                    Resources usage = used.getOrDefault(n.name(), Resources.NONE);
                    node.putObject("used").put("vcpus", usage.vcpus()).put("memory", usage.memory().bytes());
                    node.put("allocations", replicas.getOrDefault(n.name(), 0));
                    nodes.add(node);
                });
            }
            case "jobs" -> {
                ArrayNode jobs = out.putArray("jobs");
                s.jobs.values().forEach(j -> {
                    ObjectNode job = FabricCodec.job(j);
                    Rollouts.Rollout r = s.rollouts.get(j.name());
                    if (r != null) {
                        // How far it got: the replicas placed on the version rolled out.
                        long updated = s.allocationsOf(j.name()).stream().filter(a -> s.versionOf(a) == r.to()).count();
                        job.set("rollout", FabricCodec.rollout(r).put("updated", updated));
                    }
                    jobs.add(job);
                });
            }
            case "allocations" -> {
                ArrayNode allocations = out.putArray("allocations");
                s.allocations.values().forEach(a -> {
                    ObjectNode allocation = FabricCodec.allocation(a).put("version", s.versionOf(a)).put("state", s.actual.getOrDefault(a.id(), "placed"));
                    FabricState.Serving serving = s.serving.get(a.id());
                    if (serving != null) allocation.put("url", serving.url()).put("commit", serving.commit());
                    allocations.add(allocation);
                });
            }
            case "pending" -> s.pending().forEach(out.putObject("pending")::put);
            case "volumes" -> {
                ArrayNode volumes = out.putArray("volumes");
                s.volumes.values().forEach(v -> {
                    boolean running = s.jobs.containsKey(v.job());
                    Allocation a = s.allocations.get(v.replicaId());
                    String state = !running ? "stopped" : a != null && a.node().equals(v.node()) ? "attached" : "detached";
                    volumes.add(FabricCodec.jobVolume(v).put("id", v.id()).put("nodeVolume", v.nodeVolume()).put("state", state));
                });
            }
            case "events" -> {
                ArrayNode events = out.putArray("events");
                s.eventsAfter(q.path("after").asLong(0), MAX_EVENTS_PER_QUERY).forEach(e -> events.add(FabricCodec.event(e)));
            }
            case "desired" -> {
                // The node agent's DesiredVms: each VM allocation's id to the VM spec of its version, each model allocation's to its repository and ref.
                var desired = s.desiredFor(q.path("node").asText(""));
                out.put("node", desired.node()).put("revision", desired.revision());
                ObjectNode vms = out.putObject("vms");
                ObjectNode restart = out.putObject("restart");
                ObjectNode models = out.putObject("models");
                for (Allocation a : desired.allocations()) {
                    if (!s.jobs.containsKey(a.job())) continue;
                    JobSpec version = s.specOf(a);
                    ObjectNode spec = JobSpecJson.tree(version);
                    switch (version.workload()) {
                        case JobSpec.Workload.Vm vm -> vms.set(a.id(), spec.path("workload").path("vm"));
                        case JobSpec.Workload.Model model -> models.set(a.id(), spec.path("workload").path("model"));
                    }
                    restart.set(a.id(), spec.path("restart"));
                    if (!version.volumes().isEmpty()) {
                        ArrayNode attach = out.withObjectProperty("attach").putArray(a.id());
                        for (JobSpec.Volume v : version.volumes()) {
                            JobVolume bound = s.volumes.get(JobVolume.id(a.job(), a.replica(), v.name()));
                            if (bound != null) attach.addObject().put("name", bound.nodeVolume()).put("readOnly", v.readOnly());
                        }
                    }
                }
                // Every job volume the node holds, its stopped jobs' included: what is not listed here, the node deletes.
                s.volumes.values().stream().filter(v -> v.node().equals(desired.node()))
                        .forEach(v -> out.withObjectProperty("volumes").putObject(v.nodeVolume()).put("sizeBytes", v.size().bytes()).put("id", v.id()));
            }
            default -> throw new IllegalArgumentException("unknown query '" + what.replaceAll("[^a-z]", "?") + "'");
        }
        return out;
    }

    /** {@code reader} over the state as it is now. */
    <T> T read(Function<FabricState, T> reader) {
        lock.readLock().lock();
        try {
            return reader.apply(state);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The index of the last log entry applied (or loaded from a snapshot); -1 before any. */
    long appliedIndex() {
        TermIndex last = getLastAppliedTermIndex();
        return last == null ? RaftLog.INVALID_LOG_INDEX : last.getIndex();
    }

    /** Log entries refused when applied (malformed, or refused by the state) since this peer started. */
    long refusedEntries() {
        lock.readLock().lock();
        try {
            return refusedEntries;
        } finally {
            lock.readLock().unlock();
        }
    }
}
