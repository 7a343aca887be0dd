package io.aether.fabric;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.common.ByteSize;
import io.aether.fabricapi.Allocation;
import io.aether.fabricapi.Event;
import io.aether.fabricapi.Job;
import io.aether.fabricapi.JobSpecJson;
import io.aether.fabricapi.Node;
import io.aether.fabricapi.Resources;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The bytes of commands, outcomes and snapshots. Deterministic: the same value is always the same
 * bytes (fields in a fixed order, maps sorted, times in epoch milliseconds, job specs in
 * {@link JobSpecJson}'s canonical form), so that equal states make equal snapshots. JSON, so that
 * a log entry or a snapshot can be read by a person. Reading refuses anything malformed with an
 * {@link IllegalArgumentException} naming the field: a log entry comes from a Ratis client, and
 * a snapshot from a disk or a peer.
 */
final class FabricCodec {

    /** Commands are small; a job spec, the largest, is at most {@link JobSpecJson#MAX_CHARS}. */
    static final int MAX_COMMAND_BYTES = 4 * JobSpecJson.MAX_CHARS;
    /** A plan for a large fleet: 100,000 placements of ~120 bytes. */
    static final int MAX_PLAN_BYTES = 32 << 20;

    private static final JsonMapper MAPPER = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    static {
        MAPPER.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).maxNumberLength(32)
                .maxStringLength(JobSpecJson.MAX_CHARS).build());
    }

    private FabricCodec() {
    }

    static byte[] encode(Command command) {
        ObjectNode o = MAPPER.createObjectNode();
        switch (command) {
            case Command.CreateToken c -> o.put("type", "create-token").put("hash", c.hash()).put("expires", c.expires().toEpochMilli());
            case Command.JoinNode c -> {
                o.put("type", "join-node").put("tokenHash", c.tokenHash()).set("node", node(c.node()));
                o.put("key", c.key());
            }
            case Command.ReportAllocations c -> {
                o.put("type", "report-allocations").put("node", c.node()).put("revision", c.revision());
                ObjectNode states = o.putObject("states");
                c.states().forEach(states::put);
                if (!c.serving().isEmpty()) o.set("serving", serving(c.serving()));
                c.volumes().ifPresent(v -> o.set("volumes", volumeSpace(v)));
            }
            case Command.DrainNode c -> o.put("type", "drain-node").put("node", c.node());
            case Command.RevokeNode c -> o.put("type", "revoke-node").put("node", c.node());
            case Command.SubmitJob c -> o.put("type", "submit-job").set("spec", JobSpecJson.tree(c.spec()));
            case Command.StopJob c -> o.put("type", "stop-job").put("job", c.job());
            case Command.DeleteVolumes c -> {
                o.put("type", "delete-volumes").put("job", c.job());
                c.volume().ifPresent(v -> o.put("volume", v));
            }
            case Command.AdvanceRollout c -> o.put("type", "advance-rollout").put("job", c.job());
            case Command.AddAuthority c -> o.put("type", "add-authority").put("controller", c.controller()).put("certificate", c.certificate());
            case Command.AddClient c -> o.put("type", "add-client").put("name", c.name()).put("role", c.role()).put("keyId", c.keyId());
            case Command.RevokeClient c -> o.put("type", "revoke-client").put("name", c.name());
            case Command.ApplyPlan c -> {
                o.put("type", "apply-plan");
                ArrayNode placements = o.putArray("placements");
                c.plan().placements().forEach(a -> placements.add(allocation(a)));
                c.plan().stops().forEach(o.putArray("stops")::add);
                c.plan().preemptions().forEach(o.putArray("preemptions")::add);
                ObjectNode pending = o.putObject("pending");
                c.plan().pending().forEach(pending::put);
            }
        }
        o.put("at", command.at().toEpochMilli());
        return bytes(o);
    }

    static Command decodeCommand(byte[] bytes) {
        if (bytes.length > MAX_PLAN_BYTES) throw new IllegalArgumentException("command: " + bytes.length + " bytes is too long");
        JsonNode o = parse(bytes, "command");
        String type = text(o, "type");
        if (!type.equals("apply-plan") && bytes.length > MAX_COMMAND_BYTES) {
            throw new IllegalArgumentException("command: " + bytes.length + " bytes is too long for " + type);
        }
        Instant at = instant(o, "at");
        return switch (type) {
            case "create-token" -> new Command.CreateToken(text(o, "hash"), instant(o, "expires"), at);
            case "join-node" -> new Command.JoinNode(text(o, "tokenHash"), node(field(o, "node")), text(o, "key"), at);
            // Reports logged before they carried the node's revision count whatever they say.
            case "report-allocations" -> new Command.ReportAllocations(text(o, "node"), o.has("revision") ? number(o, "revision") : Long.MAX_VALUE,
                    labels(field(o, "states"), "states"), o.has("serving") ? serving(field(o, "serving")) : new TreeMap<>(),
                    o.has("volumes") ? Optional.of(volumeSpace(field(o, "volumes"))) : Optional.empty(), at);
            case "drain-node" -> new Command.DrainNode(text(o, "node"), at);
            case "revoke-node" -> new Command.RevokeNode(text(o, "node"), at);
            case "submit-job" -> new Command.SubmitJob(JobSpecJson.read(field(o, "spec")), at);
            case "stop-job" -> new Command.StopJob(text(o, "job"), at);
            case "delete-volumes" -> new Command.DeleteVolumes(text(o, "job"), optionalText(o, "volume"), at);
            case "advance-rollout" -> new Command.AdvanceRollout(text(o, "job"), at);
            case "add-authority" -> new Command.AddAuthority(text(o, "controller"), text(o, "certificate"), at);
            case "add-client" -> new Command.AddClient(text(o, "name"), text(o, "role"), text(o, "keyId"), at);
            case "revoke-client" -> new Command.RevokeClient(text(o, "name"), at);
            case "apply-plan" -> new Command.ApplyPlan(new Command.Plan(list(o, "placements", FabricCodec::allocation),
                    list(o, "stops", v -> textValue(v, "stops")), list(o, "preemptions", v -> textValue(v, "preemptions")),
                    labels(field(o, "pending"), "pending")), at);
            default -> throw new IllegalArgumentException("type: unknown command '" + type.replaceAll("[^A-Za-z0-9-]", "?") + "'");
        };
    }

    static byte[] encode(Outcome outcome) {
        ObjectNode o = MAPPER.createObjectNode();
        switch (outcome) {
            case Outcome.Applied a -> o.put("applied", a.lastEvent());
            case Outcome.Refused r -> o.put("refused", r.reason());
        }
        return bytes(o);
    }

    static Outcome decodeOutcome(byte[] bytes) {
        JsonNode o = parse(bytes, "outcome");
        return o.has("refused") ? new Outcome.Refused(text(o, "refused")) : new Outcome.Applied(number(o, "applied"));
    }

    /** The whole state, for a snapshot. */
    static byte[] snapshot(FabricState state) {
        ObjectNode o = MAPPER.createObjectNode();
        o.put("format", 1);
        o.put("lastSequence", state.lastSequence);
        ArrayNode nodes = o.putArray("nodes");
        state.nodes.values().forEach(n -> nodes.add(node(n)));
        ArrayNode jobs = o.putArray("jobs");
        state.jobs.values().forEach(j -> jobs.add(job(j)));
        ArrayNode allocations = o.putArray("allocations");
        state.allocations.values().forEach(a -> allocations.add(allocation(a)));
        ArrayNode tokens = o.putArray("tokens");
        state.tokens.values().forEach(t -> {
            ObjectNode token = tokens.addObject().put("hash", t.hash()).put("expires", t.expires().toEpochMilli());
            t.usedBy().ifPresent(n -> token.put("usedBy", n));
        });
        // Written only when there are some, so that a fabric without job volumes snapshots as it did.
        if (!state.volumes.isEmpty()) {
            ArrayNode volumes = o.putArray("volumes");
            state.volumes.values().forEach(v -> volumes.add(jobVolume(v)));
        }
        ObjectNode revisions = o.putObject("revisions");
        state.revisions.forEach(revisions::put);
        ObjectNode keys = o.putObject("keys");
        state.keys.forEach(keys::put);
        ObjectNode actual = o.putObject("actual");
        state.actual.forEach(actual::put);
        ObjectNode placed = o.putObject("placed");
        state.placed.forEach((id, p) -> placed.putObject(id).put("version", p.version()).put("sequence", p.sequence()));
        ObjectNode olderSpecs = o.putObject("olderSpecs");
        state.olderSpecs.forEach((job, specs) -> {
            ObjectNode versions = olderSpecs.putObject(job);
            specs.forEach((version, spec) -> versions.set(Long.toString(version), JobSpecJson.tree(spec)));
        });
        ObjectNode preemptedBy = o.putObject("preemptedBy");
        state.preemptedBy.forEach(preemptedBy::put);
        ObjectNode rollouts = o.putObject("rollouts");
        state.rollouts.forEach((job, r) -> rollouts.set(job, rollout(r)));
        o.set("serving", serving(state.serving));
        ObjectNode authorities = o.putObject("authorities");
        state.authorities.forEach(authorities::put);
        ObjectNode clients = o.putObject("clients");
        state.clients.forEach((name, c) -> clients.putObject(name).put("role", c.role()).put("keyId", c.keyId()).put("revoked", c.revoked()));
        ArrayNode events = o.putArray("events");
        state.events.forEach(e -> events.add(event(e)));
        return bytes(o);
    }

    static FabricState restore(byte[] bytes) {
        JsonNode o = parse(bytes, "snapshot");
        if (number(o, "format") != 1) throw new IllegalArgumentException("format: " + o.get("format") + " is not a format this controller reads (1)");
        FabricState state = new FabricState();
        state.lastSequence = number(o, "lastSequence");
        list(o, "nodes", FabricCodec::node).forEach(n -> state.nodes.put(n.name(), n));
        list(o, "jobs", FabricCodec::job).forEach(j -> state.jobs.put(j.name(), j));
        list(o, "allocations", FabricCodec::allocation).forEach(a -> state.allocations.put(a.id(), a));
        list(o, "tokens", t -> new FabricState.Token(text(t, "hash"), instant(t, "expires"), optionalText(t, "usedBy")))
                .forEach(t -> state.tokens.put(t.hash(), t));
        // Snapshots written before job volumes have none.
        if (o.has("volumes")) list(o, "volumes", FabricCodec::jobVolume).forEach(v -> state.volumes.put(v.id(), v));
        field(o, "revisions").fields().forEachRemaining(e -> state.revisions.put(e.getKey(), longValue(e.getValue(), "revisions")));
        // Snapshots written before nodes had identities and reports have neither map.
        if (o.has("keys")) state.keys.putAll(labels(field(o, "keys"), "keys"));
        if (o.has("actual")) state.actual.putAll(labels(field(o, "actual"), "actual"));
        // Nor do those written before rolling updates have versions per allocation: theirs run their job's version.
        if (o.has("placed")) {
            field(o, "placed").fields().forEachRemaining(e -> state.placed.put(e.getKey(),
                    new FabricState.Placed(number(e.getValue(), "version"), number(e.getValue(), "sequence"))));
        }
        if (o.has("olderSpecs")) {
            field(o, "olderSpecs").fields().forEachRemaining(job -> {
                TreeMap<Long, io.aether.fabricapi.JobSpec> specs = new TreeMap<>();
                job.getValue().fields().forEachRemaining(v -> specs.put(version(v.getKey()), JobSpecJson.read(v.getValue())));
                state.olderSpecs.put(job.getKey(), specs);
            });
        }
        if (o.has("preemptedBy")) {
            labels(field(o, "preemptedBy"), "preemptedBy").forEach((id, job) -> {
                if (!id.matches(".+\\.[0-9]{1,9}")) throw new IllegalArgumentException("preemptedBy: '" + id.replaceAll("[^A-Za-z0-9.-]", "?") + "' is not a replica id");
                state.preemptedBy.put(id, job);
            });
        }
        if (o.has("rollouts")) field(o, "rollouts").fields().forEachRemaining(e -> state.rollouts.put(e.getKey(), rollout(e.getValue())));
        if (o.has("serving")) state.serving.putAll(serving(field(o, "serving")));
        if (o.has("authorities")) state.authorities.putAll(labels(field(o, "authorities"), "authorities"));
        if (o.has("clients")) {
            field(o, "clients").properties().forEach(e -> state.clients.put(e.getKey(),
                    new FabricState.Client(text(e.getValue(), "role"), text(e.getValue(), "keyId"), e.getValue().path("revoked").asBoolean())));
        }
        list(o, "events", FabricCodec::event).forEach(state.events::addLast);
        return state;
    }

    /** Model allocations' serving URLs and commits: {@code {"web.0": {"url": ..., "commit": ...}}}. */
    private static ObjectNode serving(SortedMap<String, FabricState.Serving> serving) {
        ObjectNode o = MAPPER.createObjectNode();
        serving.forEach((id, s) -> o.putObject(id).put("url", s.url()).put("commit", s.commit()));
        return o;
    }

    private static TreeMap<String, FabricState.Serving> serving(JsonNode o) {
        if (!o.isObject()) throw new IllegalArgumentException("serving: expected an object");
        TreeMap<String, FabricState.Serving> out = new TreeMap<>();
        o.fields().forEachRemaining(e -> out.put(e.getKey(), new FabricState.Serving(text(e.getValue(), "url"), text(e.getValue(), "commit"))));
        return out;
    }

    static ObjectNode node(Node n) {
        ObjectNode o = MAPPER.createObjectNode().put("name", n.name());
        ObjectNode labels = o.putObject("labels");
        n.labels().forEach(labels::put);
        resources(o, n.capacity());
        o.put("status", n.status().name());
        // Written only once the node reported a volume store, so that nodes snapshot as they did before.
        if (!n.volumes().equals(Node.VolumeSpace.NONE)) o.set("volumes", volumeSpace(n.volumes()));
        return o;
    }

    static Node node(JsonNode o) {
        return new Node(text(o, "name"), labels(field(o, "labels"), "labels"), resources(o), enumValue(Node.Status.class, o, "status"),
                o.has("volumes") ? volumeSpace(field(o, "volumes")) : Node.VolumeSpace.NONE);
    }

    static ObjectNode volumeSpace(Node.VolumeSpace v) {
        return MAPPER.createObjectNode().put("capacityBytes", v.capacityBytes()).put("freeBytes", v.freeBytes()).put("jobBytes", v.jobBytes());
    }

    static Node.VolumeSpace volumeSpace(JsonNode o) {
        return new Node.VolumeSpace(number(o, "capacityBytes"), number(o, "freeBytes"), number(o, "jobBytes"));
    }

    /** A job volume: {@code {"job": "db", "replica": 0, "name": "data", "size": BYTES, "node": "n1"}}. */
    static ObjectNode jobVolume(JobVolume v) {
        return MAPPER.createObjectNode().put("job", v.job()).put("replica", v.replica()).put("name", v.name()).put("size", v.size().bytes())
                .put("node", v.node());
    }

    static JobVolume jobVolume(JsonNode o) {
        return new JobVolume(text(o, "job"), Math.toIntExact(number(o, "replica")), text(o, "name"), new ByteSize(number(o, "size")), text(o, "node"));
    }

    static ObjectNode allocation(Allocation a) {
        ObjectNode o = MAPPER.createObjectNode().put("job", a.job()).put("replica", a.replica()).put("node", a.node());
        resources(o, a.resources());
        return o.put("priority", a.priority());
    }

    static Allocation allocation(JsonNode o) {
        return new Allocation(text(o, "job"), Math.toIntExact(number(o, "replica")), text(o, "node"), resources(o), Math.toIntExact(number(o, "priority")));
    }

    static ObjectNode job(Job j) {
        ObjectNode o = MAPPER.createObjectNode().put("version", j.version());
        j.pending().ifPresent(p -> o.put("pending", p));
        o.set("spec", JobSpecJson.tree(j.spec()));
        return o;
    }

    static Job job(JsonNode o) {
        return new Job(JobSpecJson.read(field(o, "spec")), number(o, "version"), optionalText(o, "pending"));
    }

    /** A rollout: {@code {"from": 1, "to": 2, "status": "rolling", "batch": [0], "batchStarted": MILLIS}}, and {@code reason} once it failed. */
    static ObjectNode rollout(Rollouts.Rollout r) {
        ObjectNode o = MAPPER.createObjectNode().put("from", r.from()).put("to", r.to()).put("status", r.status().word());
        r.batch().forEach(o.putArray("batch")::add);
        o.put("batchStarted", r.batchStarted().toEpochMilli());
        r.reason().ifPresent(why -> o.put("reason", why));
        return o;
    }

    static Rollouts.Rollout rollout(JsonNode o) {
        String status = text(o, "status");
        Rollouts.Status parsed = null;
        for (Rollouts.Status s : Rollouts.Status.values()) if (s.word().equals(status)) parsed = s;
        if (parsed == null) throw new IllegalArgumentException("status: unknown rollout status");
        return new Rollouts.Rollout(number(o, "from"), number(o, "to"), parsed,
                list(o, "batch", v -> Math.toIntExact(longValue(v, "batch"))), instant(o, "batchStarted"), optionalText(o, "reason"));
    }

    private static long version(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("olderSpecs: '" + text.replaceAll("[^0-9A-Za-z]", "?") + "' is not a version");
        }
    }

    static ObjectNode event(Event e) {
        return MAPPER.createObjectNode().put("sequence", e.sequence()).put("at", e.at().toEpochMilli()).put("kind", e.kind().name())
                .put("subject", e.subject()).put("detail", e.detail());
    }

    static Event event(JsonNode o) {
        return new Event(number(o, "sequence"), instant(o, "at"), enumValue(Event.Kind.class, o, "kind"), text(o, "subject"), text(o, "detail"));
    }

    private static void resources(ObjectNode o, Resources r) {
        o.put("vcpus", r.vcpus()).put("memory", r.memory().bytes());
    }

    private static Resources resources(JsonNode o) {
        return new Resources(Math.toIntExact(number(o, "vcpus")), new ByteSize(number(o, "memory")));
    }

    static byte[] bytes(JsonNode tree) {
        return tree.toString().getBytes(StandardCharsets.UTF_8);
    }

    static JsonNode parse(byte[] bytes, String what) {
        try {
            JsonNode tree = MAPPER.readTree(bytes);
            if (tree == null || !tree.isObject()) throw new IllegalArgumentException(what + ": not a JSON object");
            return tree;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(what + ": not JSON (" + e.getOriginalMessage().lines().findFirst().orElse("") + ")");
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(what + ": unreadable", e);
        }
    }

    private static JsonNode field(JsonNode o, String name) {
        JsonNode value = o.get(name);
        if (value == null || value.isNull()) throw new IllegalArgumentException(name + ": missing");
        return value;
    }

    private static String text(JsonNode o, String name) {
        return textValue(field(o, name), name);
    }

    private static String textValue(JsonNode v, String name) {
        if (!v.isTextual()) throw new IllegalArgumentException(name + ": expected a string");
        return v.textValue();
    }

    private static Optional<String> optionalText(JsonNode o, String name) {
        return o.hasNonNull(name) ? Optional.of(text(o, name)) : Optional.empty();
    }

    private static long number(JsonNode o, String name) {
        return longValue(field(o, name), name);
    }

    private static long longValue(JsonNode v, String name) {
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw new IllegalArgumentException(name + ": expected a whole number");
        return v.longValue();
    }

    private static Instant instant(JsonNode o, String name) {
        return Instant.ofEpochMilli(number(o, name));
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, JsonNode o, String name) {
        String text = text(o, name);
        for (E e : type.getEnumConstants()) if (e.name().equals(text)) return e;
        throw new IllegalArgumentException(name + ": unknown value");
    }

    private static TreeMap<String, String> labels(JsonNode o, String name) {
        if (!o.isObject()) throw new IllegalArgumentException(name + ": expected an object");
        TreeMap<String, String> out = new TreeMap<>();
        o.fields().forEachRemaining(e -> out.put(e.getKey(), textValue(e.getValue(), name + "." + e.getKey())));
        return out;
    }

    private static <T> List<T> list(JsonNode o, String name, Function<JsonNode, T> element) {
        JsonNode array = field(o, name);
        if (!array.isArray()) throw new IllegalArgumentException(name + ": expected an array");
        List<T> out = new ArrayList<>(array.size());
        for (JsonNode v : array) out.add(element.apply(v));
        return out;
    }
}
